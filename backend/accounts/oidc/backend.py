"""The OpenID Connect relying party: mozilla-django-oidc's backend, held to a stricter check.

mozilla-django-oidc exchanges the code (with the PKCE verifier), fetches the provider's JWKS and
the userinfo answer. What this subclass adds or tightens:

- settings come from ``settings.CGH_OIDC`` (``accounts.oidc.config``), endpoints possibly from
  discovery, instead of the library's ``OIDC_*`` settings;
- the ID token must be signed with the configured asymmetric algorithm by a key of the
  provider's JWKS, and carry the right issuer, our client id as audience (and as ``azp`` when it
  has several audiences), an expiry, an issue time and the nonce of this login (the library
  checks neither issuer nor audience);
- a JWKS key is matched on key id and algorithm, tolerating keys without either;
- the userinfo answer must name the same ``sub`` as the ID token (OpenID Connect Core 5.3.4);
- the account is then found or created by ``accounts.oidc.services.sso_sign_in``.

It is also the session's backend for accounts that logged in this way (``get_user``: active
accounts only). ``authenticate`` takes keyword-only OpenID arguments, so that Django's
``authenticate()`` with a username and password never reaches it.
"""

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .config import OIDCConfig, provider_endpoints
from .services import sso_sign_in

LEEWAY_SECONDS = 60
BACKEND_PATH = "accounts.oidc.backend.OIDCBackend"


class VerifiedLogin:
    """What a verified exchange yields: the account, the ID token's claims and the raw ID token
    (kept in the session as the logout hint)."""

    def __init__(self, user, id_token_claims: dict, id_token: str):
        self.user = user
        self.id_token_claims = id_token_claims
        self.id_token = id_token


class OIDCBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # Cheap: Django builds backends on every request of a session. Nothing is read from the
        # library's settings; the endpoints are resolved at the exchange.
        self.config: OIDCConfig | None = getattr(settings, "CGH_OIDC", None)
        self.UserModel = get_user_model()

    def get_settings(self, attr, *args):
        """The library's settings, answered from ``CGH_OIDC``."""
        config = self.config
        values = {
            "OIDC_VERIFY_SSL": config.tls_verify,
            "OIDC_TIMEOUT": config.timeout,
            "OIDC_PROXY": None,
            "OIDC_TOKEN_USE_BASIC_AUTH": config.token_auth_basic,
            "OIDC_USE_NONCE": True,
            "OIDC_ALLOW_UNSECURED_JWT": False,
            "OIDC_STORE_ACCESS_TOKEN": False,
            "OIDC_STORE_ID_TOKEN": False,
            "OIDC_AUTHENTICATION_CALLBACK_URL": "web:sso_callback",
        }
        if attr in values:
            return values[attr]
        if args:
            return args[0]
        raise SuspiciousOperation(f"Unexpected OpenID setting {attr}.")

    def _prepare(self) -> dict:
        endpoints = provider_endpoints(self.config)
        self.issuer = endpoints["issuer"]
        self.OIDC_OP_TOKEN_ENDPOINT = endpoints["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = endpoints["userinfo_endpoint"]
        self.OIDC_OP_JWKS_ENDPOINT = endpoints["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = self.config.client_id
        self.OIDC_RP_CLIENT_SECRET = self.config.client_secret
        self.OIDC_RP_SIGN_ALGO = self.config.algorithm
        self.OIDC_RP_IDP_SIGN_KEY = None
        return endpoints

    def retrieve_matching_jwk(self, token):
        """The provider's key for ``token``: same key id (when the token names one) and algorithm
        (when the key names one), a signature key of the configured algorithm's family."""
        header = jwt.get_unverified_header(token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, verify=self.config.tls_verify,
                                timeout=self.config.timeout)
        response.raise_for_status()
        family = "EC" if self.config.algorithm.startswith("ES") else "RSA"
        for jwk in response.json().get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != family or jwk.get("use", "sig") != "sig":
                continue
            if header.get("kid") and jwk.get("kid") not in (None, header["kid"]):
                continue
            if jwk.get("alg") not in (None, header.get("alg")):
                continue
            return jwt.PyJWK(jwk, algorithm=self.config.algorithm)
        raise SuspiciousOperation("No key of the provider's JWKS matches the ID token.")

    def _verify_jws(self, payload, key):
        """Signature with the configured algorithm only, then issuer, audience, expiry, issue
        time (``LEEWAY_SECONDS`` of clock skew)."""
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"Malformed ID token: {exc}") from exc
        if header.get("alg") != self.config.algorithm:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, not {self.config.algorithm}.")
        try:
            claims = jwt.decode(payload, key, algorithms=[self.config.algorithm], audience=self.config.client_id,
                                issuer=self.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["iss", "sub", "aud", "exp", "iat"]})
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise SuspiciousOperation("ID token for several audiences without our client as azp.")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """The userinfo answer (JSON, or a JWT signed by the provider), whose ``sub`` must be the
        ID token's."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        response = requests.get(self.OIDC_OP_USER_ENDPOINT, headers={"Authorization": f"Bearer {access_token}"},
                                verify=self.config.tls_verify, timeout=self.config.timeout)
        response.raise_for_status()
        if response.headers.get("content-type", "").lower().startswith("application/jwt"):
            token = response.text.strip()
            try:
                info = jwt.decode(token, self.retrieve_matching_jwk(token), algorithms=[self.config.algorithm],
                                  issuer=self.issuer, options={"verify_aud": False, "require": ["sub"]})
            except jwt.PyJWTError as exc:
                raise SuspiciousOperation(f"Userinfo refused: {exc}") from exc
        else:
            info = response.json()
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is not about the ID token's subject.")
        return info

    def authenticate(self, request, *, oidc_code: str, oidc_nonce: str, oidc_code_verifier: str | None):
        """Exchange ``oidc_code`` and verify everything; returns a ``VerifiedLogin``. Raises
        ``SuspiciousOperation`` or ``requests.RequestException`` when the exchange fails,
        ``accounts.oidc.services.SSORefused`` when the platform refuses the person."""
        self.request = request
        self._prepare()
        token_info = self.get_token({
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "grant_type": "authorization_code",
            "code": oidc_code,
            "redirect_uri": request.build_absolute_uri(reverse("web:sso_callback")),
            **({"code_verifier": oidc_code_verifier} if oidc_code_verifier else {}),
        })
        id_token = token_info.get("id_token")
        if not isinstance(id_token, str):
            raise SuspiciousOperation("The token answer has no ID token.")
        payload = self.verify_token(id_token, nonce=oidc_nonce)  # signature, claims above, then nonce
        info = self.get_userinfo(token_info.get("access_token"), id_token, payload)
        claims = {**info, **payload}  # the signed ID token wins over the userinfo answer
        user = sso_sign_in(request=request, config=self.config, issuer=payload["iss"], claims=claims)
        return VerifiedLogin(user, payload, id_token)

    def get_user(self, user_id):
        return ModelBackend().get_user(user_id)
