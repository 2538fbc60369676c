import pytest
from rest_framework.test import APIClient

from tests.web.messages import ensure_messages_compiled
from tests.workflows import build_world


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages():
    """The French catalogue compiled once for the whole run (web, reports and browser tests assert
    French pages)."""
    ensure_messages_compiled()


@pytest.fixture
def api():
    """``api(user)`` gives a client authenticated as ``user`` (or anonymous with ``None``)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def world(db):
    return build_world()
