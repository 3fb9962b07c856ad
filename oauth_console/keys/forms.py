"""The confirmation forms of the signing-key page: what to rotate, why a key is revoked."""

from django import forms

from server.models import SigningKey


class RotateKeysForm(forms.Form):
    alg = forms.ChoiceField(
        label="Algorithm",
        required=False,
        help_text="Leave on “every algorithm in use” unless only one of them must change.",
    )

    def __init__(self, *args, algs: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["alg"].choices = [("", "Every algorithm in use"), *((alg, alg) for alg in algs)]

    def algs(self) -> list[str] | None:
        """The algorithms to rotate (None: every one in use, as the service decides)."""
        alg = self.cleaned_data.get("alg")
        return [alg] if alg else None


class RevokeKeyForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        help_text="Kept in the audit log, e.g. “private key exposed in a backup”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    confirm_kid = forms.CharField(
        label="Type the first 8 characters of the key id to confirm",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, key: SigningKey, **kwargs):
        super().__init__(*args, **kwargs)
        self.key = key

    def clean_confirm_kid(self) -> str:
        typed = self.cleaned_data["confirm_kid"].strip()
        if typed[:8] != self.key.kid[:8] or len(typed) < 8:
            raise forms.ValidationError("That is not the beginning of this key's id.")
        return typed
