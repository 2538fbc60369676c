"""The one table of web error sentences: every entry is translated, and an exception finds its
sentence by its code, falling back on its class's generic one."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import translation

from common.exceptions import ConcurrentUpdate, DomainError, Forbidden, TransitionNotAllowed, ValidationFailed
from web.errors import ERROR_TEXTS, error_code, error_text

PARAMS = {"n": 2, "kind": "x", "case": "x", "action": "x", "subject": "x", "state": "x",
          "c": 1, "cn": 2, "p": 0, "pn": 1}


@pytest.mark.parametrize("code", sorted(ERROR_TEXTS))
def test_error_text_is_french(code):
    with translation.override("en"):
        english = error_text(code, **PARAMS)
    with translation.override("fr"):
        french = error_text(code, **PARAMS)

    assert french.title != english.title and french.message != english.message


@pytest.mark.parametrize("exc, code", [
    (Http404(), "not_found"),
    (PermissionDenied(), "permission_denied"),
    (Forbidden("no", code="locked_out"), "permission_denied"),
    (ConcurrentUpdate("stale"), "concurrent_update"),
    (ValidationFailed("bad", code="direct_identifier"), "invalid"),
    (TransitionNotAllowed("no quorum", code="quorum_not_met"), "quorum_not_met"),
    (TransitionNotAllowed("twice", code="already_revealed"), "already_revealed"),
    (DomainError("other"), "refused"),
])
def test_error_code_prefers_the_exception_code_then_its_class(exc, code):
    assert error_code(exc) == code
