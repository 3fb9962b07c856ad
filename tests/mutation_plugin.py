"""A pytest plugin for `make mutation` only (loaded by `pytest_add_cli_args` in [tool.mutmut]).

mutmut runs the selected tests once per mutant, and most of their time went to PBKDF2: every
fixture user and every sign-in hashes a password a million times. None of the mutated code hashes
passwords, so under mutation a fast hasher stands in (Django's advice for test settings). `make
test` keeps the production hasher.

The property tests run the same fixed search as in CI ("ci" profile of tests/conftest.py) but do
not shrink a failing example: under mutation a failure is all that counts, and shrinking one
through HTTP round trips took minutes, long enough for mutmut to call a killed mutant "timeout".
This module is imported before tests/conftest.py, which loads the profile HYPOTHESIS_PROFILE names.
"""

import os

import pytest
from hypothesis import Phase, settings

settings.register_profile(
    "mutation",
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    phases=(Phase.explicit, Phase.generate),
)
os.environ["HYPOTHESIS_PROFILE"] = "mutation"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _is_transactional(item) -> bool:
    """Whether pytest-django runs `item` outside a rolled-back transaction: it ends by flushing
    every table, the rows data migrations made (the security group) included."""
    from django.test import TestCase, TransactionTestCase

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return not issubclass(cls, TestCase)
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    fixtures = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


class _OrderGiven:
    """mutmut passes a mutant's tests fastest first and stops at the first failure (-x);
    pytest-django then sorts them database tests first (Django's order), which put the millisecond
    unit tests that kill most mutants behind hundreds of database tests. Under mutation, the order
    given wins (the first hook notes it, the last puts it back), but for Django's one rule that
    matters: transactional tests run after the others. A transactional test flushes the tables,
    and a later test that reads a data migration's rows would fail for that, not for the mutant,
    counting it killed."""

    def __init__(self) -> None:
        self.positions: dict[int, int] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items):
        self.positions = {id(item): position for position, item in enumerate(items)}


class _RestoreOrder:
    def __init__(self, noted: _OrderGiven) -> None:
        self.noted = noted

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        items.sort(key=lambda item: (_is_transactional(item), self.noted.positions.get(id(item), len(items))))


def pytest_configure(config):
    noted = _OrderGiven()
    config.pluginmanager.register(noted, "mutation-order-given")
    config.pluginmanager.register(_RestoreOrder(noted), "mutation-order-restored")
