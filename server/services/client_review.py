"""Changes to an approved app that wait for an operator: held, approved, rejected (issue 11, item 11)."""

from django.db import transaction
from django.utils import timezone

from server import signals
from server.actors import Actor
from server.models import Client
from server.services._after_commit import send_after_commit
from server.services.clients import changed_settings, update_client
from server.services.shown_values import ChangedSinceShown, fingerprint

# What an end user judges an app by on the consent page and where it sends them: on an app an
# operator has approved, a developer's change to these waits for an operator (issue 11, item 11).
# A browser is sent to (or loads, in the logout page's iframe) each of these: a person reviews them.
REVIEWED_FIELDS = (
    "name",
    "redirect_uris",
    "client_uri",
    "logo_uri",
    "policy_uri",
    "tos_uri",
    "post_logout_redirect_uris",
    "frontchannel_logout_uri",
)


def propose_client_changes(client: Client, *, actor: Actor, **changes) -> Client:
    """A developer's change to their own app.

    On an app still pending review everything applies at once (the operator reviews the whole
    app, and approves only the settings shown: `set_client_status(reviewed=...)`). Otherwise
    changes to REVIEWED_FIELDS are validated now and held in `pending_changes` (replacing any
    earlier proposal) until `approve_client_changes`; the rest applies at once.
    """
    with transaction.atomic():
        # The app as it is now, under the lock an approval takes: a change that read the app
        # while pending but lands after its approval is held, never applied unseen.
        client.refresh_from_db(from_queryset=Client.objects.select_for_update())
        if client.status == Client.Status.PENDING:
            return update_client(client, actor=actor, **changes)
        diff = changed_settings(client, changes)
        held = {field: new for field, (_old, new) in diff.items() if field in REVIEWED_FIELDS}
        applied = {field: new for field, (_old, new) in diff.items() if field not in REVIEWED_FIELDS}
        client = update_client(client, actor=actor, **applied) if applied else client
        if held != client.pending_changes:
            client.pending_changes = held
            client.save(update_fields=["pending_changes", "updated_at"])
            send_after_commit(
                signals.client_changed,
                client=client,
                changes={field: [getattr(client, field), new] for field, new in held.items()},
                actor=actor,
                at=timezone.now(),
                review="held",
            )
    return client


def proposal_fingerprint(pending: dict | None) -> str:
    """A digest of held changes: a review page posts back the one it showed, so that an approval
    applies what the operator saw (`approve_client_changes(proposal=...)`)."""
    return fingerprint(pending)


def approve_client_changes(client: Client, *, actor: Actor, proposal: str | None = None) -> Client:
    """Apply the app's held changes (validated again: the policy may have moved since).

    `proposal`: the `proposal_fingerprint` of the changes the operator was shown; held changes
    that are not those (the developer replaced them meanwhile) are refused with ChangedSinceShown
    (a PolicyError), never approved unseen. Sends one `client_changed` with review "approved"
    and what the approval changed, which is empty when the held values were set meanwhile: the
    proposal still leaves the app."""
    now = timezone.now()
    with transaction.atomic():
        # The row as it is now, locked: a proposal replaced since the caller read it is seen.
        locked = Client.objects.select_for_update().filter(pk=client.pk)
        held = dict(locked.values_list("pending_changes", flat=True).first() or {})
        if proposal is not None and proposal != proposal_fingerprint(held):
            raise ChangedSinceShown(
                "The developer changed the held changes after they were shown to you; review them again."
            )
        if not held:
            return client
        client.pending_changes = held
        diff = changed_settings(client, held)
        for field, (_old, new) in diff.items():
            setattr(client, field, new)
        client.pending_changes = {}
        client.save(update_fields=[*diff, "pending_changes", "updated_at"])
        send_after_commit(
            signals.client_changed, client=client, changes=diff, actor=actor, at=now, review="approved"
        )
    return client


def reject_client_changes(client: Client, *, actor: Actor) -> Client:
    """Drop the app's held changes; the app keeps the settings an operator approved."""
    held = dict(client.pending_changes or {})
    if not held:
        return client
    with transaction.atomic():
        client.pending_changes = {}
        client.save(update_fields=["pending_changes", "updated_at"])
        send_after_commit(
            signals.client_changed,
            client=client,
            changes={field: [new, getattr(client, field)] for field, new in held.items()},
            actor=actor,
            at=timezone.now(),
            review="rejected",
        )
    return client
