"""Project settings read on every request, kept per process.

A read through `django.conf.settings` runs LazyObject's `__getattribute__`, a Python function
(about 2,000 instructions), and a setting the project does not set (`getattr(settings, name,
default)`) raises and discards an AttributeError on every read. The few our middleware and
database backend read per request are read once here and kept until a `setting_changed`
(`override_settings`, the pytest `settings` fixture) forgets them all, as `server.conf` keeps
the server's. Only settings nothing changes without that signal belong here: not ROOT_URLCONF
(pytest-django's `urls` marker sets it directly) nor DEBUG (the test runner does).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_kept: dict[str, Any] = {}


def setting(name: str, default: Any = None) -> Any:
    """`getattr(settings, name, default)`, read once per process (per settings change)."""
    try:
        return _kept[name]
    except KeyError:
        value = _kept[name] = getattr(settings, name, default)
        return value


@receiver(setting_changed, dispatch_uid="oauth_console.hot_settings.forget")
def _forget(**kwargs) -> None:
    _kept.clear()
