"""A confirmation page between an admin list action that cannot be undone (disable or reject
clients, revoke device authorizations or initial access tokens) and its write: the first POST
(from the list's action menu) shows how many rows it will change and what happens to them; only
the page's own POST, which carries `confirm=yes`, runs the action. Like Django's own "delete
selected", and the token list's "revoke selected" (oauth_console/tokens/admin.py)."""

from django.http import HttpRequest
from django.template.response import TemplateResponse

CONFIRM_FIELD = "confirm"


def confirmed(request: HttpRequest) -> bool:
    """True for the confirmation page's POST."""
    return request.POST.get(CONFIRM_FIELD) == "yes"


def confirmation_page(
    model_admin,
    request: HttpRequest,
    *,
    action: str,
    title: str,
    count: int,
    summary: str,
    consequence: str,
    button: str,
) -> TemplateResponse:
    """The page that re-posts the action with `confirm=yes` (the selection and the list's
    filters carried over: the form posts to the list's own URL)."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "count": count,
        "summary": summary,
        "consequence": consequence,
        "button": button,
        "action": action,
        "selected": request.POST.getlist("_selected_action"),
        "select_across": request.POST.get("select_across") == "1",
        "confirm_field": CONFIRM_FIELD,
    }
    return TemplateResponse(request, "console/confirm_action.html", context)
