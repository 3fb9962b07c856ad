import pytest
from django.test import Client as HttpClient

from .doors import World


@pytest.fixture
def world(django_user_model):
    operator = django_user_model.objects.create_superuser("m-root", "root@example.com", "root-pw-123456")
    developer = django_user_model.objects.create_user("m-dana", "dana@example.com", "dana-pw-123456")
    end_user = django_user_model.objects.create_user("m-alice", "alice@example.com", "alice-pw-123456")
    visitor = django_user_model.objects.create_user("m-bob", "bob@example.com", "bob-pw-1234567")
    clients = []
    for user in (operator, developer, end_user, visitor):
        http = HttpClient(HTTP_HOST="testserver")
        http.force_login(user)
        clients.append(http)
    return World(operator, developer, end_user, *clients, HttpClient(HTTP_HOST="testserver"))
