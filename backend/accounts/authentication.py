"""API token authentication: django-rest-knox's tokens (only a hash stored, each expiring), read
with their user in one query per request.

knox's own ``TokenAuthentication`` also reads every other token of the user on each request to
delete the expired ones: one more query per API call for a sweep that changes nothing a request
can see (an expired token is refused whether or not its row is still there). Here a request
deletes only the token it presented, when that one has expired; the user's other expired tokens
are deleted when a new token is issued (``delete_expired_tokens``), and all of them at a password
change (``accounts.services.user_revoke_credentials``)."""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.models import AuthToken
from knox.signals import token_expired


class TokenAuthentication(auth.TokenAuthentication):
    def _cleanup_token(self, auth_token) -> bool:
        """True (and the row deleted) when the presented token has expired."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class TokenScheme(KnoxTokenScheme):
    """The same security scheme in the OpenAPI schema as knox's own class."""

    target_class = "accounts.authentication.TokenAuthentication"


def delete_expired_tokens(user) -> int:
    """Delete the expired API tokens of ``user``; returns how many."""
    deleted, _ = AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    return deleted
