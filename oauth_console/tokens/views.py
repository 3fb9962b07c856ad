"""Bulk revocation pages: choose, confirm with a count, revoke with one UPDATE."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from oauth_console.admin_lookups import parse_id
from oauth_console.tokens.forms import BulkRevokeForm
from server import services
from server.actors import Actor
from server.models import Client

REVOKE_PERMISSION = "server.revoke_tokens"


def _initial_from_query(request: HttpRequest) -> dict:
    """Prefill from links on the client page and the filtered token list (?client=<pk>&user=<pk>)."""
    initial = {}
    client_pk, user_pk = _query_id(request, "client"), _query_id(request, "user")
    if client_pk is not None:
        client = Client.objects.filter(pk=client_pk).only("client_id").first()
        if client:
            initial["client_id"] = client.client_id
    if user_pk is not None:
        user = get_user_model()._default_manager.filter(pk=user_pk).first()
        if user:
            initial["username"] = user.get_username()
    return initial


def _query_id(request: HttpRequest, name: str) -> int | None:
    """The id in ?name=, or None for none or one that is not an id (a prefill, not a filter):
    "²".isdigit() is true and int() refuses it, which was a 500."""
    try:
        return parse_id(request.GET.get(name, ""), name)
    except IncorrectLookupParameters:
        return None


def bulk_revoke(request: HttpRequest, model_admin) -> HttpResponse:
    """GET: the form. POST: the confirmation page with the count. POST with confirm: revoke."""
    if not request.user.has_perm(REVOKE_PERMISSION):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Revoke tokens in bulk",
        "console_section": "tokens",
    }
    if request.method != "POST":
        form = BulkRevokeForm(initial=_initial_from_query(request))
        return TemplateResponse(request, "console/tokens/bulk_revoke.html", {**context, "form": form})

    form = BulkRevokeForm(request.POST)
    if not form.is_valid():
        return TemplateResponse(
            request, "console/tokens/bulk_revoke.html", {**context, "form": form}, status=400
        )
    tokens = form.tokens()
    if request.POST.get("confirm") != "yes":
        count = tokens.filter(revoked_at__isnull=True).count()
        return TemplateResponse(
            request,
            "console/tokens/bulk_revoke_confirm.html",
            {**context, "form": form, "count": count, "criteria": form.criteria_in_words()},
        )
    revoked = services.revoke_tokens(
        tokens,
        actor=Actor.operator(request.user),
        reason=form.cleaned_data["reason"],
        criteria=form.criteria(),
    )
    messages.success(request, f"{revoked} token{'s' if revoked != 1 else ''} revoked.")
    query = {}
    if form.cleaned_data.get("client_id"):
        query["client"] = form.cleaned_data["client_id"].pk
    if form.cleaned_data.get("username"):
        query["user"] = form.cleaned_data["username"].pk
    query["status"] = "revoked"
    changelist = reverse("admin:server_token_changelist", current_app=model_admin.admin_site.name)
    return HttpResponseRedirect(f"{changelist}?{urlencode(query)}")
