"""Reading settings from the environment (oauth_console/env.py): a value that cannot be read
stops start-up with a message naming the variable, never a silent default."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from oauth_console.env import env_bool, env_int, env_list


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("", True), ("1", True), ("yes", True), (" ON ", True), ("0", False), ("off", False)],
)
def test_booleans(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("SOME_FLAG", raising=False)
    else:
        monkeypatch.setenv("SOME_FLAG", raw)
    assert env_bool("SOME_FLAG", True) is expected


def test_whole_numbers(monkeypatch):
    monkeypatch.setenv("SOME_COUNT", " 42 ")
    assert env_int("SOME_COUNT", 7) == 42
    monkeypatch.setenv("SOME_COUNT", "  ")
    assert env_int("SOME_COUNT", 7) == 7


def test_a_number_that_is_not_one_names_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_COUNT must be a whole number, got 'ten'"):
        env_int("SOME_COUNT", 7)


def test_lists_drop_blank_items(monkeypatch):
    monkeypatch.delenv("SOME_HOSTS", raising=False)
    assert env_list("SOME_HOSTS", ["a"]) == ["a"]
    monkeypatch.setenv("SOME_HOSTS", " a.example, ,b.example,")
    assert env_list("SOME_HOSTS", ["a"]) == ["a.example", "b.example"]
    monkeypatch.setenv("SOME_HOSTS", "")
    assert env_list("SOME_HOSTS", ["a"]) == []
