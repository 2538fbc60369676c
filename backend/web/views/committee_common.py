"""Shared by the committee pages (sessions, agenda items, actions, vigilance reports,
re-identification requests, cases, composition): the refusal page and the error decorator, both
answered by ``web.errors`` so that every web page words a refusal the same way."""

from ..errors import error_page, web_errors
from ..labels import COMMITTEE_ACTIONS as ACTIONS

__all__ = ["ACTIONS", "committee_errors", "refusal_page"]


def refusal_page(request, exc, *, subject=None, action=None, code=None, **params):
    """The 409 page for ``exc``: the sentence of ``code`` (the rule the view checked itself,
    formatted with ``params``) or the one ``web.errors`` derives from the exception."""
    return error_page(request, exc, subject=subject, action=action, code=code, **params)


committee_errors = web_errors
"""The committee pages' decorator: the same translation as every other web page."""
