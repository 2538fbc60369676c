"""Single sign-on through OpenID Connect (hospital identity providers, Pro Santé Connect).

``config``: the ``CGH_OIDC_*`` variables; ``claims``: role allow-list and multi-factor evidence;
``backend``: the relying party (mozilla-django-oidc, stricter); ``services``: the account a
login opens, and the audit of refusals. The pages are in ``web.views.sso``.
"""
