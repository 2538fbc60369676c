"""Single sign-on against a real OpenID Connect provider (scripts/oidc, started on loopback), the
whole way: the application's redirect, the provider's login form, the code exchange with PKCE,
the ID token checked against the provider's JWKS, the role allow-list, the second factor, the
audit trail and the logout at the provider."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.enums import Role
from accounts.models import ExternalIdentity, User
from accounts.oidc.config import OIDCConfig
from audit.models import AuditEvent
from tests.factories import PASSWORD as LOCAL_PASSWORD
from tests.factories import UserFactory
from tests.oidc_provider import Browser, TestProvider

pytestmark = pytest.mark.django_db(transaction=True)

IDP_PASSWORD = "mot-de-passe-du-fournisseur"


def account(*roles, acr="pwd", **claims):
    return {"password": IDP_PASSWORD, "acr": acr, "claims": {"roles": list(roles), **claims}}


ACCOUNTS = {
    "sub-marie": account("cgh-relecteurs", preferred_username="marie.curie", given_name="Marie",
                         family_name="Curie", email="marie.curie@chu.example", email_verified=True),
    "sub-paul": account("autre-groupe", preferred_username="paul"),
    "sub-qualite": account("cgh-qualite", preferred_username="qualite"),
    "sub-qualite-mfa": account("cgh-qualite", acr="eidas2", preferred_username="qualite.forte"),
    "sub-multi": account("cgh-direction", "cgh-qualite", preferred_username="multi"),
}


def config_for(provider: TestProvider, **changes) -> OIDCConfig:
    return OIDCConfig(**{
        "provider_name": "Annuaire du CHU", "client_id": provider.client_id,
        "client_secret": provider.client_secret, "discovery_url": provider.discovery_url,
        "scopes": "openid profile email roles", "role_claim": "roles",
        "role_map": (("cgh-qualite", "quality"), ("cgh-relecteurs", "clinician"), ("cgh-direction", "management")),
        "acr_values": "eidas2", "mfa_acr": frozenset({"eidas2", "eidas3"}), **changes})


@pytest.fixture(scope="module")
def provider(live_server, tmp_path_factory):
    started = TestProvider(workdir=tmp_path_factory.mktemp("oidc"),
                           redirect_uri=f"{live_server.url}/login/sso/callback/",
                           post_logout_uri=f"{live_server.url}/login/", accounts=ACCOUNTS)
    yield started
    started.stop()


@pytest.fixture
def sso(settings, provider):
    provider.set_accounts(ACCOUNTS)
    settings.CGH_OIDC = config_for(provider)
    return provider


@pytest.fixture
def browser(live_server, sso):
    return lambda: Browser(live_server.url, sso)


def events(*actions):
    return list(AuditEvent.objects.filter(action__in=actions).order_by("id")
                .values_list("action", "actor_id", "object_id", "data"))


def logged_in_user_id(browser: Browser):
    key = browser.http.cookies.get("sessionid")
    return SessionStore(session_key=key).get(SESSION_KEY) if key else None


def test_sso_login_page_shows_the_provider_button_beside_the_local_form(client, settings, provider):
    settings.CGH_OIDC = config_for(provider)

    page = client.get("/login/")

    assert page.status_code == 200
    assert "Se connecter avec Annuaire du CHU" in page.content.decode()
    assert 'name="password"' in page.content.decode()


def test_local_login_switched_off_is_neither_shown_nor_accepted(client, settings, provider):
    settings.CGH_OIDC = config_for(provider)
    settings.CGH_LOCAL_LOGIN = False
    UserFactory(username="camille")

    page = client.get("/login/")
    posted = client.post("/login/", {"username": "camille", "password": LOCAL_PASSWORD})
    token = client.post("/api/auth/token/", {"username": "camille", "password": LOCAL_PASSWORD},
                        content_type="application/json")

    assert 'name="password"' not in page.content.decode()
    assert "Se connecter avec Annuaire du CHU" in page.content.decode()
    assert posted.status_code == 403
    assert token.status_code == 400
    assert SESSION_KEY not in client.session


def test_sso_mapped_user_logs_in_with_the_mapped_role(browser, sso):
    person = browser()

    response = person.login("sub-marie", IDP_PASSWORD)
    queue = person.get("/reviews/")

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert queue.status_code == 200 and "Marie Curie" in queue.text
    user = User.objects.get(external_identities__issuer=sso.issuer, external_identities__subject="sub-marie")
    assert (user.username, user.role, user.is_active, user.email) == (
        "marie.curie", Role.CLINICIAN, True, "marie.curie@chu.example")
    assert not user.has_usable_password()
    assert logged_in_user_id(person) == str(user.pk)
    assert events("accounts.user_created", "auth.login") == [
        ("accounts.user_created", None, str(user.pk),
         {"username": "marie.curie", "role": "clinician", "active": True, "source": "oidc", "issuer": sso.issuer}),
        ("auth.login", user.pk, str(user.pk),
         {"ip": "127.0.0.1", "user_agent": person.http.headers["User-Agent"], "method": "oidc",
          "issuer": sso.issuer, "provider_mfa": {}}),
    ]


def test_sso_authorization_request_carries_state_nonce_and_pkce(browser, sso, live_server):
    person = browser()

    response = person.get("/login/sso/")

    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert sorted(query) == ["acr_values", "client_id", "code_challenge", "code_challenge_method", "nonce",
                             "redirect_uri", "response_type", "scope", "state"]
    assert query["acr_values"] == ["eidas2"] and query["scope"] == ["openid profile email roles"]
    assert query["code_challenge_method"] == ["S256"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{live_server.url}/login/sso/callback/"]
    assert len(query["state"][0]) == 32 and len(query["nonce"][0]) == 32


def test_sso_first_matching_entry_of_the_allow_list_decides(browser, sso):
    browser().login("sub-multi", IDP_PASSWORD)

    assert User.objects.get(username="multi").role == Role.QUALITY  # cgh-qualite comes first in the map


def test_sso_unmapped_user_is_refused_and_nothing_is_created(browser, sso):
    person = browser()
    users_before = User.objects.count()

    response = person.login("sub-paul", IDP_PASSWORD)

    assert response.status_code == 403
    assert ("Votre compte Annuaire du CHU ne vous donne aucun rôle sur cette plateforme" in response.text
            and "aucun compte n’a été créé" in response.text)
    assert User.objects.count() == users_before
    assert not ExternalIdentity.objects.exists()
    assert logged_in_user_id(person) is None
    assert events("auth.sso_refused", "accounts.user_created", "auth.login") == [
        ("auth.sso_refused", None, "",
         {"reason": "no_allowed_role", "issuer": sso.issuer, "subject": "sub-paul", "ip": "127.0.0.1",
          "user_agent": person.http.headers["User-Agent"]}),
    ]


def test_sso_role_change_at_the_provider_is_applied_audited_and_ends_old_sessions(browser, sso):
    first = browser()
    first.login("sub-marie", IDP_PASSWORD)
    user = User.objects.get(username="marie.curie")
    sso.set_accounts({**ACCOUNTS, "sub-marie": account("cgh-direction", preferred_username="marie.curie")})

    second = browser()
    response = second.login("sub-marie", IDP_PASSWORD)

    user.refresh_from_db()
    assert response.status_code == 302 and user.role == Role.MANAGEMENT
    assert events("accounts.role_changed") == [
        ("accounts.role_changed", None, str(user.pk),
         {"old_role": "clinician", "new_role": "management", "username": "marie.curie", "source": "oidc",
          "issuer": sso.issuer}),
    ]
    assert logged_in_user_id(second) == str(user.pk)
    assert first.get("/reviews/").headers["Location"].startswith("/login/")  # the old role's session ended


def test_sso_lost_role_deactivates_the_account_and_a_role_given_back_reactivates_it(browser, sso):
    browser().login("sub-marie", IDP_PASSWORD)
    user = User.objects.get(username="marie.curie")
    sso.set_accounts({**ACCOUNTS, "sub-marie": account(preferred_username="marie.curie")})

    refused = browser().login("sub-marie", IDP_PASSWORD)
    user.refresh_from_db()
    assert refused.status_code == 403 and not user.is_active and user.role == Role.CLINICIAN

    sso.set_accounts(ACCOUNTS)
    back = browser()
    back.login("sub-marie", IDP_PASSWORD)
    user.refresh_from_db()
    assert user.is_active and logged_in_user_id(back) == str(user.pk)
    assert [action for action, *_ in events("accounts.sso_deactivated", "auth.sso_refused",
                                             "accounts.sso_reactivated")] == [
        "accounts.sso_deactivated", "auth.sso_refused", "accounts.sso_reactivated"]


def test_sso_account_deactivated_by_an_administrator_stays_off(browser, sso):
    browser().login("sub-marie", IDP_PASSWORD)
    User.objects.filter(username="marie.curie").update(is_active=False)

    person = browser()
    response = person.login("sub-marie", IDP_PASSWORD)

    assert response.status_code == 403 and "désactivé" in response.text
    assert not User.objects.get(username="marie.curie").is_active
    assert logged_in_user_id(person) is None


def test_sso_never_takes_over_a_local_account_with_the_same_username_or_email(browser, sso):
    local = UserFactory(username="marie.curie", email="marie.curie@chu.example", role=Role.ADMIN)

    browser().login("sub-marie", IDP_PASSWORD)

    created = User.objects.get(external_identities__subject="sub-marie")
    assert created.pk != local.pk and created.username.startswith("marie.curie-")
    local.refresh_from_db()
    assert local.role == Role.ADMIN and not local.external_identities.exists()


def test_sso_id_token_signed_by_another_key_is_refused(browser, sso, settings):
    settings.CGH_OIDC = config_for(sso, jwks_uri=f"{sso.issuer}/test/foreign-jwks")
    person = browser()

    response = person.login("sub-marie", IDP_PASSWORD)

    assert response.status_code == 400 and "n’a pas pu être vérifiée" in response.text
    assert logged_in_user_id(person) is None and not User.objects.filter(username="marie.curie").exists()
    assert [data["reason"] for *_, data in events("auth.sso_refused")] == ["invalid_token"]


def test_sso_wrong_nonce_is_refused(browser, sso):
    person = browser()
    callback = person.sign_in_at_provider("sub-marie", IDP_PASSWORD)
    session = SessionStore(session_key=person.http.cookies["sessionid"])
    session["oidc_states"] = {state: {**entry, "nonce": "not-the-nonce-sent"}
                              for state, entry in session["oidc_states"].items()}
    session.save()

    response = person.get(callback)

    assert response.status_code == 400
    assert logged_in_user_id(person) is None and not User.objects.filter(username="marie.curie").exists()


def test_sso_wrong_state_is_refused_and_a_state_serves_once(browser, sso):
    person = browser()
    callback = person.sign_in_at_provider("sub-marie", IDP_PASSWORD)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = callback.replace(f"state={query['state'][0]}", "state=forged-state")

    wrong = person.get(forged)
    right = person.get(callback)
    replayed = browser().get(callback)  # another browser (login CSRF): the state is not in its session

    assert wrong.status_code == 400 and "n’a pas été commencée ici" in wrong.text
    assert right.status_code == 302
    assert replayed.status_code == 400
    assert [data["reason"] for *_, data in events("auth.sso_refused")] == ["invalid_state", "invalid_state"]


def test_sso_staff_role_without_provider_multi_factor_goes_through_the_local_second_factor(browser, sso):
    person = browser()

    response = person.login("sub-qualite", IDP_PASSWORD)

    assert response.status_code == 302 and response.headers["Location"] == "/account/second-factor/setup/"
    assert person.get("/").headers["Location"] == "/account/second-factor/setup/"
    assert person.get("/api/campaigns/").status_code == 403


def test_sso_provider_multi_factor_accepted_by_configuration_verifies_the_session(browser, sso):
    person = browser()

    response = person.login("sub-qualite-mfa", IDP_PASSWORD)

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert person.get("/campaigns/").status_code == 200
    assert person.get("/api/campaigns/").status_code == 200
    (_, _, _, data), = events("auth.login")
    assert data["provider_mfa"] == {"acr": "eidas2"}


def test_sso_provider_multi_factor_not_configured_is_not_trusted(browser, sso, settings):
    settings.CGH_OIDC = config_for(sso, mfa_acr=frozenset())
    person = browser()

    response = person.login("sub-qualite-mfa", IDP_PASSWORD)

    assert response.headers["Location"] == "/account/second-factor/setup/"


def test_sso_logout_ends_the_session_here_and_at_the_provider(browser, sso, live_server):
    person = browser()
    person.login("sub-marie", IDP_PASSWORD)

    response = person.logout()

    location = response.headers["Location"]
    assert response.status_code == 302 and location.startswith(f"{sso.issuer}/session/end?")
    query = parse_qs(urlsplit(location).query)
    assert query["post_logout_redirect_uri"] == [f"{live_server.url}/login/"]
    assert query["client_id"] == [sso.client_id] and query["id_token_hint"][0].count(".") == 2
    assert logged_in_user_id(person) is None and person.get("/reviews/").status_code == 302
    back = person.confirm_provider_logout(location)
    assert back.status_code in (302, 303) and back.headers["Location"] == f"{live_server.url}/login/"
    person.start()  # the provider asks for the password again: its session has ended too


@pytest.fixture(scope="module")
def es256_provider(live_server, tmp_path_factory):
    started = TestProvider(workdir=tmp_path_factory.mktemp("oidc-es256"),
                           redirect_uri=f"{live_server.url}/login/sso/callback/",
                           post_logout_uri=f"{live_server.url}/login/", accounts=ACCOUNTS, alg="ES256")
    yield started
    started.stop()


def test_sso_es256_provider(settings, live_server, es256_provider):
    settings.CGH_OIDC = config_for(es256_provider, algorithm="ES256")

    response = Browser(live_server.url, es256_provider).login("sub-marie", IDP_PASSWORD)

    assert response.status_code == 302
    assert User.objects.get(username="marie.curie").role == Role.CLINICIAN


def test_sso_algorithm_other_than_the_configured_one_is_refused(settings, live_server, es256_provider):
    settings.CGH_OIDC = config_for(es256_provider, algorithm="RS256")

    response = Browser(live_server.url, es256_provider).login("sub-marie", IDP_PASSWORD)

    assert response.status_code == 400
    assert not User.objects.filter(username="marie.curie").exists()
