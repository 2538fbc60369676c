from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .uploads import max_upload_bytes


class ContentSecurityPolicyMiddleware:
    """Sends the project's Content-Security-Policy: every asset comes from the application."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


class RequestHardeningMiddleware:
    """Refuses hostile requests before anything reads them, and keeps case data out of caches.

    Placed right after ``SecurityMiddleware``, before the session, CSRF and view code:

    - a body announced larger than ``MAX_UPLOAD_BYTES`` (``CGH_MAX_UPLOAD_MB``) is answered 413
      without reading it (``common.uploads`` cuts off a body that lies about its length);
    - a NUL character in the path or the query string is answered 400 (PostgreSQL cannot store
      it, and no legitimate filter carries one);
    - every API response and every response to a signed-in user gets ``Cache-Control: no-store``
      (with ``private`` and an expired date): case data must not stay in a browser's or a proxy's
      cache on a shared hospital workstation. Anonymous pages (login, public summary, static
      files) keep their own caching.

    API refusals use the project error shape; web refusals are a short plain-text page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self._refusal(request)
        if refusal is not None:
            response = refusal
        else:
            response = self.get_response(request)
        user = getattr(request, "user", None)
        if _is_api(request) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response

    def _refusal(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = max_upload_bytes()
        if length > limit:
            mb = limit // (1024 * 1024)
            return self._error(request, 413, "request_too_large",
                               f"The request body is larger than the limit of {mb} MB.",
                               _("The file is larger than the limit of %(mb)s MB. Split it into smaller files "
                                 "and import them one by one.") % {"mb": mb}, {"limit_mb": mb})
        raw_query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in raw_query or "\x00" in raw_query:
            names = sorted({k.replace("\x00", "") for k, values in request.GET.lists()
                            if "\x00" in k or any("\x00" in v for v in values)})
            return self._error(request, 400, "invalid", "Null characters are not allowed in the address.",
                               _("The address contains a null character."),
                               {name or "path": ["Null characters are not allowed."] for name in names or [""]})
        return None

    @staticmethod
    def _error(request, status: int, code: str, detail: str, message: str, extra: dict):
        if _is_api(request):
            return JsonResponse({"code": code, "detail": detail, "extra": extra}, status=status)
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class FrenchFirstLocaleMiddleware(LocaleMiddleware):
    """The interface speaks French unless the user chose another language (the language
    cookie set by the language switch). The browser's Accept-Language is not consulted: a
    hospital workstation's browser language says nothing about its user."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = dict(settings.LANGUAGES)
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
