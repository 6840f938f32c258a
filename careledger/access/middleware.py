"""A Content-Security-Policy header on every response (Django 5.2 has none built in).

The default policy allows nothing but this site's own files: no inline scripts or
styles, no other origins, no framing. Pages that cannot live with it get a looser
policy for their path prefix only, listed in ``POLICY_BY_PATH_PREFIX`` with the reason.
The other security headers (X-Frame-Options, nosniff, Referrer-Policy,
Cross-Origin-Opener-Policy, HSTS) come from Django's own middleware and settings.
"""

from __future__ import annotations

from django.conf import settings

HEADER = "Content-Security-Policy"

DEFAULT_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)

# Swagger UI (django-ninja's API docs page, served from our own static files with no
# inline script) sets some element styles inline, so that one page may use inline
# styles. Scripts stay 'self' only.
DOCS_POLICY = DEFAULT_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

POLICY_BY_PATH_PREFIX: tuple[tuple[str, str], ...] = (("/api/v1/docs", DOCS_POLICY),)


def policy_for(path: str) -> str:
    for prefix, policy in POLICY_BY_PATH_PREFIX:
        if path.startswith(prefix):
            return policy
    return DEFAULT_POLICY


class ContentSecurityPolicyMiddleware:
    """Adds the policy for the request's path unless the view set its own header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.DEBUG and response.status_code in (404, 500):
            # Django's debug error pages need their inline styles and script; never in production.
            return response
        response.headers.setdefault(HEADER, policy_for(request.path))
        return response
