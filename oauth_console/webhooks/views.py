"""The webhook pages (served from the admin's URLs: login, staff check, CSRF and never_cache
apply): the list, subscribe (the secret shown once), a subscription's page with its recent
deliveries, change, rotate the secret, send a test event, replay a delivery, delete. Every
change is a POST behind a confirmation, and one call to `oauth_console.webhooks.services`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from oauth_console.admin_lookups import object_or_404
from oauth_console.clients import shown_once
from oauth_console.webhooks import catalogue, selectors, services
from oauth_console.webhooks.forms import ConfirmForm, SubscriptionForm
from oauth_console.webhooks.models import Delivery, Subscription, SubscriptionSecret
from server.actors import Actor
from server.conf import server_settings
from server.policies import PolicyError

VIEW_PERMISSION = "webhooks.view_subscription"
MANAGE_PERMISSION = "webhooks.manage_webhooks"
DELIVERIES_PER_PAGE = 25


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def may_view(request: HttpRequest) -> bool:
    return request.user.has_perm(VIEW_PERMISSION) or request.user.has_perm(MANAGE_PERMISSION)


def _url(model_admin, name: str, *args) -> str:
    return reverse(f"admin:webhooks_subscription_{name}", args=args, current_app=model_admin.admin_site.name)


def _render(request, model_admin, template: str, status: int = 200, **context) -> TemplateResponse:
    context = {
        **model_admin.admin_site.each_context(request),
        "console_section": "webhooks",
        "can_manage": request.user.has_perm(MANAGE_PERMISSION),
        "list_url": _url(model_admin, "changelist"),
        **context,
    }
    return TemplateResponse(request, f"console/webhooks/{template}", context, status=status)


def subscription_list(request: HttpRequest, model_admin) -> HttpResponse:
    if not may_view(request):
        raise PermissionDenied
    subscriptions = Subscription.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__state=Delivery.State.PENDING)),
        dead=Count("deliveries", filter=Q(deliveries__state=Delivery.State.DEAD)),
    ).order_by("name", "pk")
    return _render(
        request,
        model_admin,
        "list.html",
        title="Webhooks",
        subscriptions=subscriptions,
        add_url=_url(model_admin, "add"),
    )


def _form_errors(form, error: PolicyError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


def subscribe(request: HttpRequest, model_admin) -> HttpResponse:
    _require(request, MANAGE_PERMISSION)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = services.create_subscription(
                actor=Actor.operator(request.user), **form.cleaned_data
            )
        except PolicyError as error:
            _form_errors(form, error)
        else:
            shown_once.keep(request, _slot(subscription), secret, "created")
            return HttpResponseRedirect(_url(model_admin, "secret", subscription.pk))
    return _render(
        request,
        model_admin,
        "form.html",
        400 if request.method == "POST" else 200,
        title="Add a webhook",
        form=form,
    )


def _slot(subscription: Subscription) -> str:
    return f"webhook:{subscription.pk}"


def show_secret_once(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """The one page that shows a plain signing secret, on its first GET after it was made."""
    _require(request, MANAGE_PERMISSION)
    subscription = object_or_404(Subscription, object_id)
    entry = shown_once.take(request, _slot(subscription)) or {}
    response = _render(
        request,
        model_admin,
        "secret_once.html",
        title=f"Signing secret of {subscription.name}",
        subscription=subscription,
        secret=entry.get("secret"),
        kind=entry.get("kind", ""),
        detail_url=_url(model_admin, "change", subscription.pk),
    )
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response


def subscription_detail(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """A subscription's settings, its secrets (prefixes), and its deliveries, newest first."""
    if not may_view(request):
        raise PermissionDenied
    subscription = object_or_404(Subscription, object_id)
    page = Paginator(selectors.recent_deliveries(subscription), DELIVERIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return _render(
        request,
        model_admin,
        "detail.html",
        title=f"Webhook {subscription.name}",
        subscription=subscription,
        events=[(name, catalogue.describe(name)) for name in subscription.event_types],
        secrets=SubscriptionSecret.objects.filter(subscription=subscription),
        page=page,
        edit_url=_url(model_admin, "edit", subscription.pk),
        rotate_url=_url(model_admin, "rotate", subscription.pk),
        test_url=_url(model_admin, "test", subscription.pk),
        delete_url=_url(model_admin, "delete", subscription.pk),
        replay_name="admin:webhooks_subscription_replay",
    )


def edit(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    _require(request, MANAGE_PERMISSION)
    subscription = object_or_404(Subscription, object_id)
    initial = {f: getattr(subscription, f) for f in services.EDITABLE_FIELDS}
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.update_subscription(
                subscription, actor=Actor.operator(request.user), **form.cleaned_data
            )
        except PolicyError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"Changed: {', '.join(changed)}." if changed else "Nothing changed.")
            return HttpResponseRedirect(_url(model_admin, "change", subscription.pk))
    return _render(
        request,
        model_admin,
        "form.html",
        400 if request.method == "POST" else 200,
        title=f"Change the webhook {subscription.name}",
        form=form,
        subscription=subscription,
    )


def _confirmed(request, model_admin, subscription, *, title, lines, button, danger=False, done):
    """GET: what the action does and a confirmation. POST (confirmed): `done()`, then back to
    the subscription's page (or where `done` says)."""
    _require(request, MANAGE_PERMISSION)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return done()
    return _render(
        request,
        model_admin,
        "confirm.html",
        400 if request.method == "POST" else 200,
        title=title,
        subscription=subscription,
        lines=lines,
        button=button,
        danger=danger,
        form=form,
        back_url=_url(model_admin, "change", subscription.pk),
    )


def rotate_secret(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    subscription = object_or_404(Subscription, object_id)

    def done():
        secret = services.rotate_subscription_secret(subscription, actor=Actor.operator(request.user)).secret
        shown_once.keep(request, _slot(subscription), secret, "rotated")
        return HttpResponseRedirect(_url(model_admin, "secret", subscription.pk))

    hours = server_settings.OAUTH2_WEBHOOK_SECRET_OVERLAP / 3600
    return _confirmed(
        request,
        model_admin,
        subscription,
        title=f"Rotate the signing secret of {subscription.name}?",
        lines=[
            "A new secret is made and shown once.",
            f"For {hours:g} hours every delivery is signed with the new and the current secret "
            "(two signatures in webhook-signature), so the receiver can switch without losing one.",
        ],
        button="Rotate the secret",
        done=done,
    )


def send_test_event(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    subscription = object_or_404(Subscription, object_id)

    def done():
        delivery = services.send_test_event(subscription, actor=Actor.operator(request.user))
        messages.success(request, f"Test event {delivery.message_id} queued; the worker sends it.")
        return HttpResponseRedirect(_url(model_admin, "change", subscription.pk))

    return _confirmed(
        request,
        model_admin,
        subscription,
        title=f"Send a test event to {subscription.name}?",
        lines=[
            f"A signed {catalogue.TEST_EVENT} message is queued for {subscription.url}, after its "
            "pending deliveries."
        ],
        button="Send a test event",
        done=done,
    )


def replay(request: HttpRequest, model_admin, object_id: str, delivery_id: str) -> HttpResponse:
    subscription = object_or_404(Subscription, object_id)
    delivery = object_or_404(Delivery.objects.filter(subscription=subscription), delivery_id)

    def done():
        services.replay_delivery(delivery, actor=Actor.operator(request.user))
        messages.success(request, f"Replay of {delivery.message_id} queued.")
        return HttpResponseRedirect(_url(model_admin, "change", subscription.pk))

    return _confirmed(
        request,
        model_admin,
        subscription,
        title=f"Replay {delivery.event_type} {delivery.message_id}?",
        lines=[
            "The same message (same webhook-id and body, signed anew) is queued again, after the "
            "subscription's pending deliveries.",
            "A receiver that already processed it recognises it by its webhook-id.",
        ],
        button="Replay",
        done=done,
    )


def _pending_words(pending: int) -> str:
    if pending == 0:
        return "no pending delivery is lost"
    noun = "delivery" if pending == 1 else "deliveries"
    return f"{pending} pending {noun} will never be sent"


def delete(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    subscription = object_or_404(Subscription, object_id)

    def done():
        dropped = services.delete_subscription(subscription, actor=Actor.operator(request.user))
        messages.warning(request, f"Deleted the webhook {subscription.name} ({dropped} pending dropped).")
        return HttpResponseRedirect(_url(model_admin, "changelist"))

    pending = selectors.pending_count(subscription)
    return _confirmed(
        request,
        model_admin,
        subscription,
        title=f"Delete the webhook {subscription.name}?",
        lines=[f"Its secrets and deliveries are deleted; {_pending_words(pending)}."],
        button="Delete",
        danger=True,
        done=done,
    )
