"""Reading the claims of a verified login: the role they give, and whether the provider vouches
for a multi-factor authentication. Pure functions of the claims and the configuration."""

from .config import OIDCConfig


def claim_values(claims: dict, path: str) -> set[str]:
    """Every string found at ``path`` (dots go into objects; lists are walked at every step), so
    that ``roles``, ``groups`` or Pro Santé Connect's ``SubjectRefPro.exercices.codeProfession``
    all read the same way. Numbers count as their text; anything else is ignored."""
    found = [claims]
    for part in path.split("."):
        following = []
        for item in found:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and part in element:
                    following.append(element[part])
        found = following
    values: set[str] = set()
    for item in found:
        for element in item if isinstance(item, list) else [item]:
            if isinstance(element, str) and element:
                values.add(element)
            elif isinstance(element, int | float) and not isinstance(element, bool):
                values.add(str(element))
    return values


def role_from_claims(config: OIDCConfig, claims: dict) -> str | None:
    """The platform role of the first allow-list entry the person's claim values include, or
    ``None``: nobody gets a role the allow-list does not name."""
    return config.role_for(claim_values(claims, config.role_claim))


def multi_factor_evidence(config: OIDCConfig, id_token: dict) -> dict | None:
    """What in the signed ID token shows a multi-factor authentication at the provider: its
    ``acr`` among ``CGH_OIDC_MFA_ACR``, or one of its ``amr`` among ``CGH_OIDC_MFA_AMR``. ``None``
    when neither is configured or shown: the product's own second factor then applies. Only the
    ID token is read (signed by the provider), never the userinfo answer."""
    acr = id_token.get("acr")
    if isinstance(acr, str) and acr in config.mfa_acr:
        return {"acr": acr}
    amr = id_token.get("amr")
    if isinstance(amr, list):
        accepted = sorted(value for value in amr if isinstance(value, str) and value in config.mfa_amr)
        if accepted:
            return {"amr": accepted}
    return None
