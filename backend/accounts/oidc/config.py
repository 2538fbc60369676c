"""Single sign-on configuration, read from the ``CGH_OIDC_*`` environment variables at start-up.

Off unless ``CGH_OIDC_ENABLED`` is true. Once on, an incomplete or unsafe configuration stops
the server (``ImproperlyConfigured``) with the name of the variable at fault, rather than
failing at the first login. The provider's endpoints come either from its discovery document
(``CGH_OIDC_DISCOVERY_URL``, fetched at the first login and kept for an hour, see
``provider_endpoints``) or from explicit variables; explicit ones win over discovered ones.

This module is read by the settings, so it imports nothing that needs configured settings.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ImproperlyConfigured

from ..enums import TWO_PERSON_ROLES, Role

SIGNATURE_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
"""Asymmetric signatures only, checked against the provider's published keys (JWKS): never a
shared-secret (HS*) or unsigned ID token."""

DISCOVERY_TTL_SECONDS = 3600

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class OIDCConfig:
    provider_name: str
    client_id: str
    client_secret: str
    discovery_url: str = ""
    issuer: str = ""
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""
    jwks_uri: str = ""
    end_session_endpoint: str = ""
    scopes: str = "openid profile email"
    algorithm: str = "RS256"
    role_claim: str = "roles"
    # (claim value, role) in the order given: the first value the person holds decides the role.
    role_map: tuple[tuple[str, str], ...] = ()
    username_claim: str = "preferred_username"
    acr_values: str = ""  # asked for in the authorization request (Pro Santé Connect: "eidas1")
    mfa_acr: frozenset[str] = field(default_factory=frozenset)
    mfa_amr: frozenset[str] = field(default_factory=frozenset)
    token_auth_basic: bool = False
    timeout: float = 10.0
    tls_verify: bool | str = True  # True, or the path of a CA bundle for a hospital's own CA

    def role_for(self, values: set[str]) -> str | None:
        """The role of the first allow-list entry whose claim value the person holds."""
        for value, role in self.role_map:
            if value in values:
                return role
        return None


def _get(environ, name: str, default: str = "") -> str:
    return (environ.get(name) or default).strip()


def parse_role_map(text: str) -> tuple[tuple[str, str], ...]:
    """``value=role`` entries separated by commas or new lines (the role after the last ``=``),
    or a JSON object ``{"value": "role"}``; order is kept. Every role must be a platform role
    other than the data-protection officer, which needs two administrators and never comes from
    an identity provider."""
    text = text.strip()
    if not text:
        raise ImproperlyConfigured("CGH_OIDC_ROLE_MAP is empty: list which claim values give which role "
                                   "(e.g. 'cgh-qualite=quality,cgh-relecteurs=clinician').")
    if text.startswith("{"):
        try:
            pairs = [(str(k), str(v)) for k, v in json.loads(text).items()]
        except (ValueError, AttributeError) as exc:
            raise ImproperlyConfigured(f"CGH_OIDC_ROLE_MAP is not a valid JSON object: {exc}.") from exc
    else:
        pairs = []
        for entry in text.replace("\n", ",").split(","):
            if not entry.strip():
                continue
            value, sep, role = entry.rpartition("=")
            if not sep or not value.strip():
                raise ImproperlyConfigured(f"CGH_OIDC_ROLE_MAP entry {entry.strip()!r} is not 'claim value=role'.")
            pairs.append((value.strip(), role.strip()))
    for value, role in pairs:
        if role in TWO_PERSON_ROLES:
            raise ImproperlyConfigured(f"CGH_OIDC_ROLE_MAP gives the role {role!r} to {value!r}: that role needs "
                                       "two administrators and cannot come from single sign-on.")
        if role not in Role.values:
            raise ImproperlyConfigured(f"CGH_OIDC_ROLE_MAP gives the unknown role {role!r} to {value!r} "
                                       f"(roles: {', '.join(r for r in Role.values if r not in TWO_PERSON_ROLES)}).")
    return tuple(pairs)


def _secret(environ) -> str:
    secret = _get(environ, "CGH_OIDC_CLIENT_SECRET")
    path = _get(environ, "CGH_OIDC_CLIENT_SECRET_FILE")
    if not secret and path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"CGH_OIDC_CLIENT_SECRET_FILE cannot be read: {exc.strerror}.") from exc
    if not secret:
        raise ImproperlyConfigured("Set CGH_OIDC_CLIENT_SECRET or CGH_OIDC_CLIENT_SECRET_FILE.")
    return secret


def _words(text: str) -> frozenset[str]:
    return frozenset(text.replace(",", " ").split())


# The provider's endpoints, each read from CGH_OIDC_<NAME> when there is no discovery document.
ENDPOINTS = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
             "end_session_endpoint")


def oidc_config_from_env(environ) -> OIDCConfig | None:
    """The configuration, or ``None`` when single sign-on is off."""
    if _get(environ, "CGH_OIDC_ENABLED").lower() not in _TRUE:
        return None
    client_id = _get(environ, "CGH_OIDC_CLIENT_ID")
    if not client_id:
        raise ImproperlyConfigured("CGH_OIDC_ENABLED is on but CGH_OIDC_CLIENT_ID is not set.")
    discovery_url = _get(environ, "CGH_OIDC_DISCOVERY_URL")
    explicit = {name: _get(environ, f"CGH_OIDC_{name.upper()}") for name in ENDPOINTS}
    if not discovery_url:
        missing = [f"CGH_OIDC_{name.upper()}" for name, value in explicit.items()
                   if not value and name != "end_session_endpoint"]
        if missing:
            raise ImproperlyConfigured(f"Set CGH_OIDC_DISCOVERY_URL, or every endpoint: {', '.join(missing)} missing.")
    algorithm = _get(environ, "CGH_OIDC_SIGN_ALGO", "RS256").upper()
    if algorithm not in SIGNATURE_ALGORITHMS:
        raise ImproperlyConfigured(f"CGH_OIDC_SIGN_ALGO must be one of {', '.join(SIGNATURE_ALGORITHMS)}, "
                                   f"not {algorithm!r}.")
    scopes = _get(environ, "CGH_OIDC_SCOPES", "openid profile email")
    if "openid" not in scopes.split():
        raise ImproperlyConfigured("CGH_OIDC_SCOPES must include 'openid'.")
    token_auth = _get(environ, "CGH_OIDC_TOKEN_AUTH", "client_secret_post")
    if token_auth not in {"client_secret_post", "client_secret_basic"}:
        raise ImproperlyConfigured("CGH_OIDC_TOKEN_AUTH must be client_secret_post or client_secret_basic.")
    ca_bundle = _get(environ, "CGH_OIDC_CA_BUNDLE")
    try:
        timeout = float(_get(environ, "CGH_OIDC_TIMEOUT", "10"))
    except ValueError as exc:
        raise ImproperlyConfigured("CGH_OIDC_TIMEOUT must be a number of seconds.") from exc
    return OIDCConfig(
        provider_name=_get(environ, "CGH_OIDC_PROVIDER_NAME", "votre fournisseur d'identité"),
        client_id=client_id,
        client_secret=_secret(environ),
        discovery_url=discovery_url,
        **explicit,
        scopes=scopes,
        algorithm=algorithm,
        role_claim=_get(environ, "CGH_OIDC_ROLE_CLAIM", "roles"),
        role_map=parse_role_map(environ.get("CGH_OIDC_ROLE_MAP") or ""),
        username_claim=_get(environ, "CGH_OIDC_USERNAME_CLAIM", "preferred_username"),
        acr_values=_get(environ, "CGH_OIDC_ACR_VALUES"),
        mfa_acr=_words(_get(environ, "CGH_OIDC_MFA_ACR")),
        mfa_amr=_words(_get(environ, "CGH_OIDC_MFA_AMR")),
        token_auth_basic=token_auth == "client_secret_basic",
        timeout=timeout,
        tls_verify=ca_bundle or True,
    )


def provider_origins(config: OIDCConfig | None) -> list[str]:
    """Origins the browser is sent to (login and logout), for the CSP ``form-action``: the logout
    form's redirection to the provider must be allowed."""
    if config is None:
        return []
    urls = [config.discovery_url, config.issuer, config.authorization_endpoint, config.end_session_endpoint]
    origins = []
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc and f"{parts.scheme}://{parts.netloc}" not in origins:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


ENDPOINT_NAMES = ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                  "end_session_endpoint")

_discovered: dict[str, tuple[float, dict]] = {}
_lock = threading.Lock()


def provider_endpoints(config: OIDCConfig) -> dict[str, str]:
    """Issuer and endpoints: the explicit ones, completed from the discovery document (kept
    ``DISCOVERY_TTL_SECONDS`` per process). Raises ``requests.RequestException`` or
    ``ValueError`` when the document cannot be had."""
    explicit = {name: getattr(config, name) for name in ENDPOINT_NAMES}
    if not config.discovery_url:
        return explicit
    with _lock:
        cached = _discovered.get(config.discovery_url)
    if cached is None or time.monotonic() - cached[0] > DISCOVERY_TTL_SECONDS:
        response = requests.get(config.discovery_url, timeout=config.timeout, verify=config.tls_verify)
        response.raise_for_status()
        document = response.json()
        if not isinstance(document, dict) or not document.get("issuer"):
            raise ValueError("The discovery document has no issuer.")
        cached = (time.monotonic(), document)
        with _lock:
            _discovered[config.discovery_url] = cached
    document = cached[1]
    return {name: explicit[name] or str(document.get(name) or "") for name in ENDPOINT_NAMES}
