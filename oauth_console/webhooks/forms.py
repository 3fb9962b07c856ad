"""The webhook pages' forms: a subscription's settings, and the typed confirmations."""

from django import forms

from oauth_console.webhooks import catalogue


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the endpoint is, e.g. “SIEM alerts”.")
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="An https:// endpoint on a public address; deliveries are POSTed to it.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    event_types = forms.MultipleChoiceField(
        choices=catalogue.choices, widget=forms.CheckboxSelectMultiple, label="Events"
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Untick to pause it: while paused, no event is queued for it (none is caught up later).",
    )


class ConfirmForm(forms.Form):
    """A POST that only confirms (send a test event, replay, rotate, delete)."""

    confirm = forms.BooleanField(label="Yes, do it", required=True)
