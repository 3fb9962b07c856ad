"""What approving a pending client reads and answers: the approval names the settings the caller
reviewed (`settings_fingerprint`, as GET /clients/{client_id} answered it), and settings changed
since are refused with the client as it is now (docs/security.md, the machine-facing review)."""

from __future__ import annotations

from rest_framework import serializers

from oauth_console.api.serializers import ClientOut, ReasonIn, Text


class ApproveIn(ReasonIn):
    settings_fingerprint = Text(
        max_length=64,
        required=False,
        help_text="The `settings_fingerprint` of the client as you reviewed it (GET /clients/{client_id}): "
        "a pending app's registrant may change its settings until you approve; settings changed since "
        "are a 409 `settings-changed`, nothing approved. Without it, the client is approved with "
        "its settings as they are when the request lands (automation that reviews nothing).",
    )


class SettingsChangedOut(serializers.Serializer):
    """The 409 problem (RFC 9457) of an approval whose settings changed since they were read."""

    type = serializers.CharField(help_text="urn:oauth-console:problem:settings-changed")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    client = ClientOut(help_text="The client as it is now: review it, then approve with its fingerprint.")
