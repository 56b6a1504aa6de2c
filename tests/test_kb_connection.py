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


def test_a_knowledge_base_killed_before_its_first_checkpoint_opens(tmp_path: Path) -> None:
    """Every migration replays from DuckDB's log: a crash right after migrating loses nothing.

    DuckDB 1.5.5 cannot replay ``ALTER TABLE ... ADD COLUMN`` on a table whose column defaults
    to ``nextval()``; the migrations rebuild such tables instead. The child process applies
    them without any checkpoint and dies, so that the reopening must replay all of them.
    """
    import subprocess
    import sys

    path = tmp_path / "kb.duckdb"
    child = f"""
import os, duckdb
from territoria.kb._connection import _migrations
from territoria.kb._extensions import load_extensions
con = duckdb.connect({str(path)!r})
con.execute("SET checkpoint_threshold = '100GB'")
load_extensions(con)
con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name VARCHAR, "
            "applied_at TIMESTAMP DEFAULT current_timestamp)")
for number, name, sql in _migrations():
    con.execute("BEGIN")
    con.execute(sql)
    con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [number, name])
    con.execute("COMMIT")
os._exit(0)
"""
    subprocess.run([sys.executable, "-c", child], check=True)
    assert path.with_suffix(".duckdb.wal").exists()
    con = connect(path)
    versions = [
        r[0] for r in con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
    ]
    columns = [r[0] for r in con.execute("DESCRIBE mandate").fetchall()]
    con.close()
    assert versions[-1] >= 8
    assert "date_flag" in columns
