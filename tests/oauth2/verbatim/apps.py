# added: the whole file. The spec's usage examples, copied as literally as possible, as a Django
# app for tests/oauth2/test_spec_verbatim.py (installed only in tests). Every deviation from the
# spec's text, beyond the import paths, carries an "# added:" comment. See docs/spec-compatibility.md.
from django.apps import AppConfig


class VerbatimConfig(AppConfig):
    name = "tests.oauth2.verbatim"
    label = "verbatim"
    default_auto_field = "django.db.models.BigAutoField"
    # added: no ready() importing signals.py. The spec's receivers listen to every sender, and
    # on_token_authenticated writes a field Django's User lacks: connected for the whole test
    # session they would fire for the project's own server. The tests connect them per test.
