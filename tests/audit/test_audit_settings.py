"""Production refuses to start without an audit key of at least 32 bytes held outside the database."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.test_security import _import_production, _production_env

pytestmark = pytest.mark.unit

REFUSAL = "Set CGH_AUDIT_KEY or CGH_AUDIT_KEY_FILE to a random secret of at least 32 bytes."


@pytest.mark.parametrize("overrides", [{"CGH_AUDIT_KEY": None}, {"CGH_AUDIT_KEY": ""}, {"CGH_AUDIT_KEY": "x" * 31}])
def test_audit_production_refuses_a_missing_or_short_key(overrides):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        _import_production(_production_env(**overrides))
    assert str(excinfo.value) == REFUSAL


def test_audit_production_reads_the_key_file(tmp_path):
    short, good = tmp_path / "short.key", tmp_path / "audit.key"
    short.write_text("too-short\n")
    good.write_text("k" * 32 + "\n")
    with pytest.raises(ImproperlyConfigured) as excinfo:
        _import_production(_production_env(CGH_AUDIT_KEY=None, CGH_AUDIT_KEY_FILE=str(short)))
    assert str(excinfo.value) == REFUSAL
    with pytest.raises(ImproperlyConfigured) as excinfo:
        _import_production(_production_env(CGH_AUDIT_KEY=None, CGH_AUDIT_KEY_FILE=str(tmp_path / "missing.key")))
    assert str(excinfo.value) == "CGH_AUDIT_KEY_FILE cannot be read: No such file or directory."
    production = _import_production(_production_env(CGH_AUDIT_KEY=None, CGH_AUDIT_KEY_FILE=str(good)))
    assert production.DEBUG is False  # started
