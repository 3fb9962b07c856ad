"""A pytest plugin for `make mutation` only (loaded by `pytest_add_cli_args` in [tool.mutmut]).

mutmut runs the selected tests once per mutant, and most of their time went to PBKDF2: every
fixture user and every sign-in hashes a password a million times. None of the mutated code hashes
passwords, so under mutation a fast hasher stands in (Django's advice for test settings). `make
test` keeps the production hasher.
"""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
