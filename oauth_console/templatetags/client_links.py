"""Showing what a client's developer wrote about it: links only after the server's URI policy.

Everything a client registers is written by its developer. Autoescaping keeps it out of the
markup, but an href is only as safe as its scheme: `{{ client.client_uri|safe_client_url }}`
is the URL when it passes `server.policies.validate_web_uri` (https, no credentials ...), else
"". Rows stored before the policy existed are checked again here, every time they are shown.
Logos are never loaded from the client's server (it would learn who looks at our pages, and
when); templates show the client's initial instead, as the consent page does.
"""

from django import template

from server import policies

register = template.Library()


@register.filter
def safe_client_url(value: str | None) -> str:
    """The URL if it may go in an href, else ""."""
    return policies.displayable_web_uri(value or "")
