"""django-csp's middleware, with the policy of a response that needs nothing of its own built once.

Every response carries the Content-Security-Policy (docs/security.md). django-csp builds the
header anew for each one: it copies the 35 known directives, merges, and joins them, about a
twentieth of a token request's CPU time (bench/results/2026-12-06-token-side.md). Most responses
(every protocol endpoint's JSON, redirects, most console pages) use no nonce and no per-view
policy (`csp_update`, `csp_replace`, `csp_exempt` ...), so their header is the settings' policy
as is: it is built once per settings value and reused. A response with a nonce or a policy of
its own goes through django-csp unchanged.
"""

from functools import cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# What a view or decorator can set on a response to change its policy (django-csp 4).
_OWN_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt",
    "_csp_exempt_ro",
)
_OWN_POLICY_NAMES = frozenset(_OWN_POLICY)
_DEBUG_PAGES = (404, 500)  # django-csp leaves Django's debug pages alone


@cache
def _settings_policies() -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    """(policy, report-only policy, their excluded URL prefixes), as django-csp builds them
    for a response without a nonce or a policy of its own."""
    enforced = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
    report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None) or {}
    return (
        build_policy(),
        build_policy(report_only=True),
        tuple(enforced.get("EXCLUDE_URL_PREFIXES", None) or ()),
        tuple(report_only.get("EXCLUDE_URL_PREFIXES", None) or ()),
    )


@receiver(setting_changed, dispatch_uid="oauth_console.csp_middleware.settings")
def _forget_policies(setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.cache_clear()


def _has_own_policy(response: HttpResponseBase) -> bool:
    """Whether a view or decorator set a policy of its own on `response`: django-csp's decorators
    set these attributes on the response itself, so only a response with one of them in its
    __dict__ needs the eight reads (one set intersection where eight `getattr`s were)."""
    if _OWN_POLICY_NAMES.isdisjoint(response.__dict__):
        return False
    return any(getattr(response, name, None) is not None for name in _OWN_POLICY)


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's `CSPMiddleware`; the header of a nonce-less response without a policy of its
    own comes from `_settings_policies` instead of being rebuilt."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or _has_own_policy(response):
            return super().process_response(request, response)
        if response.status_code in _DEBUG_PAGES and settings.DEBUG:
            return response
        policy, report_only, excluded, excluded_report_only = _settings_policies()
        path = request.path_info
        if policy and HEADER not in response and not path.startswith(excluded):
            response[HEADER] = policy
        if report_only and HEADER_REPORT_ONLY not in response and not path.startswith(excluded_report_only):
            response[HEADER_REPORT_ONLY] = report_only
        # As django-csp: a nonce asked for after the header was written would not be in it.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
