"""Forms for revoking tokens in bulk: what to revoke, and why."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from server.models import Client, Token

DEFAULT_REASON = "bulk revocation in the console"


class RevokeReasonForm(forms.Form):
    """The reason recorded on every revoked token (and in the audit log)."""

    reason = forms.CharField(
        max_length=200,
        initial=DEFAULT_REASON,
        help_text="Recorded on each token and in the audit log.",
    )


class BulkRevokeForm(RevokeReasonForm):
    """Revoke every token of a client, of a user, issued before a time, or a combination."""

    client_id = forms.CharField(
        label="Client ID", required=False, max_length=64, help_text="Every token of this client."
    )
    username = forms.CharField(
        label="User name", required=False, max_length=150, help_text="Every token of this user."
    )
    issued_before = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Every token issued before this time (UTC).",
    )

    field_order = ["client_id", "username", "issued_before", "reason"]

    def clean_client_id(self) -> Client | None:
        client_id = self.cleaned_data["client_id"].strip()
        if not client_id:
            return None
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            raise forms.ValidationError(f"No client has the client_id {client_id!r}.")
        return client

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if not username:
            return None
        user_model = get_user_model()
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            raise forms.ValidationError(f"No user is called {username!r}.")
        return user

    def clean(self):
        cleaned = super().clean()
        criteria = ("client_id", "username", "issued_before")
        if not self.errors and not any(cleaned.get(name) for name in criteria):
            raise forms.ValidationError(
                "Choose a client, a user or a date: revoking needs at least one of them."
            )
        return cleaned

    def tokens(self) -> QuerySet[Token]:
        """The tokens these criteria select (revoked or not)."""
        tokens = Token.objects.all()
        if self.cleaned_data.get("client_id"):
            tokens = tokens.filter(client=self.cleaned_data["client_id"])
        if self.cleaned_data.get("username"):
            tokens = tokens.filter(user=self.cleaned_data["username"])
        if self.cleaned_data.get("issued_before"):
            tokens = tokens.filter(issued_at__lt=self.cleaned_data["issued_before"])
        return tokens

    def criteria_in_words(self) -> list[tuple[str, str]]:
        """What was selected, labelled for people (the confirmation page)."""
        words = []
        if self.cleaned_data.get("client_id"):
            client = self.cleaned_data["client_id"]
            words.append(("Client", f"{client.name} ({client.client_id})"))
        if self.cleaned_data.get("username"):
            words.append(("User", self.cleaned_data["username"].get_username()))
        if self.cleaned_data.get("issued_before"):
            words.append(("Issued before", f"{self.cleaned_data['issued_before']:%Y-%m-%d %H:%M} UTC"))
        return words

    def criteria(self) -> dict:
        """What was selected, for the `tokens_revoked` signal and the audit log."""
        described = {}
        if self.cleaned_data.get("client_id"):
            described["client_id"] = self.cleaned_data["client_id"].client_id
        if self.cleaned_data.get("username"):
            user = self.cleaned_data["username"]
            described["user_id"] = user.pk
            described["username"] = user.get_username()
        if self.cleaned_data.get("issued_before"):
            described["issued_before"] = self.cleaned_data["issued_before"].isoformat()
        return described
