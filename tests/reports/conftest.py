import pytest

from tests.web.messages import ensure_messages_compiled


@pytest.fixture(scope="session", autouse=True)
def _compiled_messages():
    ensure_messages_compiled()
