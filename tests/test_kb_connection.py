"""Opening the knowledge base: settings errors are clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from territoria.errors import ConfigurationError
from territoria.kb import connect


def test_a_bad_memory_limit_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'xx' is not a size") as err:
        connect(tmp_path / "kb.duckdb", memory_limit="xx")
    assert err.value.exit_code == 2
    con = connect(tmp_path / "kb.duckdb", memory_limit="1500MB")
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "1.3 GiB"
    con.close()
