"""Single sign-on configuration and claim reading, without a provider."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.oidc.claims import claim_values, multi_factor_evidence, role_from_claims
from accounts.oidc.config import OIDCConfig, oidc_config_from_env, parse_role_map, provider_origins

pytestmark = pytest.mark.unit

BASE_ENV = {
    "CGH_OIDC_ENABLED": "true", "CGH_OIDC_CLIENT_ID": "cgh", "CGH_OIDC_CLIENT_SECRET": "s3cret",
    "CGH_OIDC_DISCOVERY_URL": "https://idp.chu.example/realms/chu/.well-known/openid-configuration",
    "CGH_OIDC_ROLE_MAP": "cgh-qualite=quality,cgh-relecteurs=clinician",
}


def test_sso_config_is_off_by_default():
    assert oidc_config_from_env({}) is None
    assert oidc_config_from_env({**BASE_ENV, "CGH_OIDC_ENABLED": "false"}) is None


def test_sso_config_reads_the_environment(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    env = {**BASE_ENV, "CGH_OIDC_CLIENT_SECRET": "", "CGH_OIDC_CLIENT_SECRET_FILE": str(secret_file),
           "CGH_OIDC_SIGN_ALGO": "es256", "CGH_OIDC_MFA_ACR": "eidas1, eidas2", "CGH_OIDC_MFA_AMR": "mfa",
           "CGH_OIDC_PROVIDER_NAME": "Pro Santé Connect", "CGH_OIDC_ACR_VALUES": "eidas1"}

    config = oidc_config_from_env(env)

    assert (config.client_secret, config.algorithm, config.mfa_acr, config.mfa_amr, config.acr_values) == (
        "from-a-file", "ES256", frozenset({"eidas1", "eidas2"}), frozenset({"mfa"}), "eidas1")
    assert config.role_map == (("cgh-qualite", "quality"), ("cgh-relecteurs", "clinician"))
    assert provider_origins(config) == ["https://idp.chu.example"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"CGH_OIDC_CLIENT_ID": ""}, "CGH_OIDC_CLIENT_ID"),
    ({"CGH_OIDC_CLIENT_SECRET": ""}, "CGH_OIDC_CLIENT_SECRET"),
    ({"CGH_OIDC_DISCOVERY_URL": "", "CGH_OIDC_ISSUER": "https://idp"}, "CGH_OIDC_AUTHORIZATION_ENDPOINT"),
    ({"CGH_OIDC_SIGN_ALGO": "HS256"}, "CGH_OIDC_SIGN_ALGO"),
    ({"CGH_OIDC_SIGN_ALGO": "none"}, "CGH_OIDC_SIGN_ALGO"),
    ({"CGH_OIDC_SCOPES": "profile email"}, "openid"),
    ({"CGH_OIDC_ROLE_MAP": ""}, "CGH_OIDC_ROLE_MAP is empty"),
    ({"CGH_OIDC_ROLE_MAP": "dpo-group=dpo"}, "two administrators"),
    ({"CGH_OIDC_ROLE_MAP": "g=superuser"}, "unknown role 'superuser'"),
    ({"CGH_OIDC_ROLE_MAP": "no-role-here"}, "is not 'claim value=role'"),
])
def test_sso_config_refuses_an_incomplete_or_unsafe_setting(changes, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        oidc_config_from_env({**BASE_ENV, **changes})


def test_sso_role_map_keeps_order_and_accepts_json():
    assert parse_role_map("a=b=quality\n x=clinician") == (("a=b", "quality"), ("x", "clinician"))
    assert parse_role_map('{"10": "clinician", "grp": "management"}') == (("10", "clinician"),
                                                                         ("grp", "management"))


def test_sso_claim_values_walk_objects_and_lists():
    claims = {"SubjectRefPro": {"exercices": [{"codeProfession": "10"}, {"codeProfession": 21}]},
              "roles": "single", "groups": ["a", "", None, True]}

    assert claim_values(claims, "SubjectRefPro.exercices.codeProfession") == {"10", "21"}
    assert claim_values(claims, "roles") == {"single"}
    assert claim_values(claims, "groups") == {"a"}
    assert claim_values(claims, "missing.path") == set()


def test_sso_role_needs_an_allow_list_entry():
    config = OIDCConfig(provider_name="x", client_id="c", client_secret="s",
                        role_map=(("cgh-qualite", "quality"), ("cgh-relecteurs", "clinician")))

    assert role_from_claims(config, {"roles": ["cgh-relecteurs", "cgh-qualite"]}) == "quality"
    assert role_from_claims(config, {"roles": ["CGH-QUALITE", "other"]}) is None
    assert role_from_claims(config, {}) is None


def test_sso_multi_factor_evidence_only_from_configured_values():
    config = OIDCConfig(provider_name="x", client_id="c", client_secret="s", mfa_acr=frozenset({"eidas2"}),
                        mfa_amr=frozenset({"mfa", "hwk"}))
    unconfigured = OIDCConfig(provider_name="x", client_id="c", client_secret="s")

    assert multi_factor_evidence(config, {"acr": "eidas2"}) == {"acr": "eidas2"}
    assert multi_factor_evidence(config, {"acr": "eidas1", "amr": ["pwd", "mfa", "hwk"]}) == {"amr": ["hwk", "mfa"]}
    assert multi_factor_evidence(config, {"acr": "eidas1", "amr": ["pwd"]}) is None
    assert multi_factor_evidence(unconfigured, {"acr": "eidas2", "amr": ["mfa"]}) is None
