"""The signing-key page's two changes, each behind a confirmation page: rotate now, revoke.

Served from the signing keys' admin URLs (the admin's login, staff check, `never_cache` and CSRF
apply). Every write is one call to `server.services.signing_keys`; nothing here reads or shows
a private key.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from oauth_console.admin_lookups import object_or_404
from oauth_console.keys.forms import RevokeKeyForm, RotateKeysForm
from server import selectors, services
from server.actors import Actor
from server.conf import server_settings
from server.models import SigningKey

MANAGE_PERMISSION = "server.manage_signing_keys"
State = SigningKey.State


def _require_manage(request: HttpRequest) -> None:
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied


def _context(request: HttpRequest, model_admin, **extra) -> dict:
    return {**model_admin.admin_site.each_context(request), "console_section": "keys", **extra}


def key_list_url(model_admin) -> str:
    return reverse("admin:server_signingkey_changelist", current_app=model_admin.admin_site.name)


def retired_published_until(key: SigningKey):
    """Until when a retired key stays in the JWKS (the selector's window)."""
    if key.retired_at is None:
        return None
    return key.retired_at + timedelta(seconds=server_settings.OAUTH2_ID_TOKEN_LIFETIME + 60)


def rotation_plan(algs: list[str]) -> list[dict]:
    """For each algorithm, in words, what "rotate now" does to its keys."""
    now = timezone.now()
    jwks_max_age = timedelta(seconds=server_settings.OAUTH2_JWKS_MAX_AGE)
    plan = []
    for alg, (active, upcoming) in selectors.signing_keys_for_rotation(algs).items():
        steps, warning = [], ""
        if upcoming is None:
            steps.append(
                "No next key is published yet: a new next key is published. "
                "It signs nothing until the next rotation."
            )
        else:
            steps.append(f"The next key {upcoming.kid} starts signing {alg} ID tokens at once.")
            if active is not None:
                until = now + timedelta(seconds=server_settings.OAUTH2_ID_TOKEN_LIFETIME + 60)
                steps.append(
                    f"The active key {active.kid} is retired: it signs nothing, and stays published "
                    f"until {timezone.localtime(until):%Y-%m-%d %H:%M} so the tokens it signed still verify."
                )
            steps.append("A new next key is published, for the rotation after this one.")
            if upcoming.created_at > now - jwks_max_age:
                warning = (
                    f"The next key was published {timezone.localtime(upcoming.created_at):%Y-%m-%d %H:%M}, "
                    "less "
                    f"than the JWKS cache lifetime ({server_settings.OAUTH2_JWKS_MAX_AGE} s) ago: relying "
                    "parties with an older cached JWKS must refetch it to verify the new tokens."
                )
        plan.append({"alg": alg, "active": active, "next": upcoming, "steps": steps, "warning": warning})
    return plan


def rotate_now(request: HttpRequest, model_admin) -> HttpResponse:
    """GET: what a rotation would change, per algorithm. POST: rotate without the lead time."""
    _require_manage(request)
    algs = selectors.signing_algorithms_in_use()
    form = RotateKeysForm(request.POST or None, algs=algs)
    if request.method == "POST" and form.is_valid():
        steps = services.rotate_signing_keys(actor=Actor.operator(request.user), algs=form.algs(), force=True)
        words = {"activated": "activated", "created": "published next key", "waiting": "waiting"}
        done = [f"{step.key.alg}: {words[step.action]} {step.key.kid}" for step in steps]
        messages.success(request, "Signing keys rotated. " + "; ".join(done) + ".")
        return HttpResponseRedirect(key_list_url(model_admin))
    return TemplateResponse(
        request,
        "console/keys/rotate.html",
        _context(
            request,
            model_admin,
            title="Rotate the signing keys now",
            form=form,
            plan=rotation_plan(algs),
            lead_time_days=server_settings.OAUTH2_SIGNING_KEY_LEAD_TIME / 86400,
            list_url=key_list_url(model_admin),
        ),
        status=400 if request.method == "POST" else 200,
    )


def revocation_consequences(key: SigningKey) -> list[str]:
    """What revoking `key` does, in its state's words."""
    if key.state == State.ACTIVE:
        _active, upcoming = selectors.signing_keys_for_rotation([key.alg])[key.alg]
        successor = (
            f"the next key {upcoming.kid}, activated then"
            if upcoming
            else "a new key, made then (unannounced)"
        )
        return [
            f"It signs every {key.alg} ID token now. It is unpublished at once: every ID token it "
            "signed stops verifying, and relying parties that check them will sign their users out.",
            f"The next {key.alg} ID token is signed by {successor}.",
        ]
    if key.state == State.RETIRED:
        until = retired_published_until(key)
        return [
            "It signs nothing. It is published until "
            f"{timezone.localtime(until):%Y-%m-%d %H:%M} so that the tokens it signed still verify; "
            "revoked, it is unpublished at once and those tokens stop verifying.",
        ]
    return [
        "It has signed nothing yet. It is unpublished at once, and the next rotation publishes another "
        "next key (which then waits the lead time).",
    ]


def revoke_key(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """GET: the consequences and a typed confirmation. POST: revoke through the service."""
    _require_manage(request)
    key = object_or_404(SigningKey.objects.defer("private_key_encrypted"), object_id)
    if key.state == State.REVOKED:
        messages.info(request, f"The key {key.kid} is already revoked.")
        return HttpResponseRedirect(key_list_url(model_admin))
    form = RevokeKeyForm(request.POST or None, key=key)
    if request.method == "POST" and form.is_valid():
        try:
            services.revoke_signing_key(
                key, actor=Actor.operator(request.user), reason=form.cleaned_data["reason"]
            )
        except services.SigningKeyError as error:
            messages.error(request, str(error))
        else:
            messages.warning(
                request,
                f"Revoked the {key.alg} key {key.kid}: it is unpublished, tokens it signed no longer verify.",
            )
        return HttpResponseRedirect(key_list_url(model_admin))
    return TemplateResponse(
        request,
        "console/keys/revoke.html",
        _context(
            request,
            model_admin,
            title=f"Revoke the signing key {key.kid}",
            key=key,
            form=form,
            consequences=revocation_consequences(key),
            list_url=key_list_url(model_admin),
        ),
        status=400 if request.method == "POST" else 200,
    )
