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


def ask(
    model_admin,
    request: HttpRequest,
    *,
    action: str,
    count: int,
    noun: str,
    nouns: str,
    verb: str,
    done: str,
    consequence: str,
) -> TemplateResponse:
    """The page that re-posts the action with `confirm=yes` (the selection and the list's filters
    carried over: the form posts to the list's own URL): "Disable selected clients?", "2 clients
    will be disabled." and what that means, a "Disable 2 clients" button."""
    what = noun if count == 1 else nouns
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{verb} selected {nouns}?",
        "count": count,
        "summary": f"{count} {what} will be {done}.",
        "consequence": consequence,
        "button": f"{verb} {count} {what}",
        "action": action,
        "selected": request.POST.getlist("_selected_action"),
        "select_across": request.POST.get("select_across") == "1",
        "confirm_field": CONFIRM_FIELD,
    }
    return TemplateResponse(request, "console/confirm_action.html", context)
