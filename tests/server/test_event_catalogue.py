"""The event catalogue (`server.events`) lists every signal the server defines, and the audit
log listens to every one of them unless the catalogue says why not."""

import weakref

import django.dispatch

from server import events, signals
from server.oauth2 import signals as oauth2_signals


def _signals_defined_in(module) -> dict[str, django.dispatch.Signal]:
    return {name: value for name, value in vars(module).items() if isinstance(value, django.dispatch.Signal)}


def _receiver_modules(signal: django.dispatch.Signal) -> set[str]:
    modules = set()
    for entry in signal.receivers:
        receiver = entry[1]
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        modules.add(getattr(receiver, "__module__", "") or "")
    return modules


def test_every_signal_the_server_defines_is_in_the_catalogue():
    defined = {**_signals_defined_in(signals), **_signals_defined_in(oauth2_signals)}
    assert set(defined) == set(events.CATALOGUE)
    for name, signal in defined.items():
        assert events.CATALOGUE[name] is signal, name
        assert getattr(events, name) is signal, name
        # The docstring table names it too (with sender, payload and listeners).
        assert f"\n{name} " in events.__doc__, name


def test_the_spec_signals_are_the_ones_the_catalogue_lists():
    assert events.token_revoked is oauth2_signals.token_revoked
    assert events.client_authenticated is oauth2_signals.client_authenticated
    assert events.token_authenticated is oauth2_signals.token_authenticated


def _audit_recorders(name: str) -> list:
    return [r for r in events.recorders(name) if r.__module__.startswith("oauth_console.audit")]


def _audit_receivers(signal) -> set[str]:
    return {module for module in _receiver_modules(signal) if module.startswith("oauth_console.audit")}


def test_the_audit_log_listens_to_every_event_or_says_why_not():
    assert set(events.NOT_AUDITED) <= set(events.CATALOGUE)
    assert all(reason.strip() for reason in events.NOT_AUDITED.values())
    unheard = [
        name
        for name, signal in events.CATALOGUE.items()
        if name not in events.NOT_AUDITED and not _audit_receivers(signal) and not _audit_recorders(name)
    ]
    assert unheard == []


def test_every_event_that_reports_a_write_is_recorded_in_its_transaction_once():
    assert set(events.IN_TRANSACTION) <= set(events.CATALOGUE)
    for name in events.IN_TRANSACTION:
        # A recorder (runs inside the fact's transaction, commits with it) ...
        assert len(_audit_recorders(name)) == 1, name
        # ... and no audit receiver of the signal besides (that would write the event twice).
        # The bridge that runs the recorders of a signal sent inside the transaction is not one.
        assert _audit_receivers(events.CATALOGUE[name]) == set(), name
    for name in events.CATALOGUE:
        if name not in events.IN_TRANSACTION:
            assert events.recorders(name) == [], name


def test_only_events_recorded_in_a_transaction_take_recorders():
    import pytest

    with pytest.raises(ValueError, match="client_authenticated"):
        events.add_recorder("client_authenticated", lambda **kwargs: None)
