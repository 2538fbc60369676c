"""Checks on the test infrastructure itself (see scripts/with_postgres.sh and the Makefile)."""

import os

import pytest
from django.db import connection

ON_POSTGRES = os.environ.get("CGH_DB_ENGINE") == "postgres"


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="only in the PostgreSQL half (CGH_DB_ENGINE=postgres)")
def test_postgres_half_really_runs_on_postgresql_15(db):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (version_num,) = cursor.fetchone()
    assert int(version_num) // 10000 == 15, f"server_version_num={version_num}"
    assert connection.pg_version // 10000 == 15
    # The throw-away server of scripts/pg_test_server.sh, not some other one.
    assert connection.settings_dict["HOST"] == os.environ["CGH_DB_HOST"]
    assert str(connection.settings_dict["PORT"]) == os.environ["CGH_DB_PORT"]
    assert connection.settings_dict["NAME"].startswith("test_")
