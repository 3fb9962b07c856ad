"""/api/v1/: the operator API's routes, its OpenAPI schema and its browsable docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from oauth_console.api.views import audit, clients, keys, registration, secrets, tokens, webhooks

app_name = "api"

urlpatterns = [
    path("clients", clients.ClientList.as_view(), name="clients"),
    path("clients/<str:client_id>", clients.ClientDetail.as_view(), name="client"),
    path("clients/<str:client_id>/disable", clients.status_view("disable"), name="client-disable"),
    path("clients/<str:client_id>/enable", clients.status_view("enable"), name="client-enable"),
    path("clients/<str:client_id>/approve", clients.status_view("approve"), name="client-approve"),
    path("clients/<str:client_id>/reject", clients.status_view("reject"), name="client-reject"),
    path("clients/<str:client_id>/secrets", secrets.SecretList.as_view(), name="secrets"),
    path("clients/<str:client_id>/secrets/rotate", secrets.SecretRotate.as_view(), name="secret-rotate"),
    path(
        "clients/<str:client_id>/secrets/<int:secret_id>/expire",
        secrets.SecretExpire.as_view(),
        name="secret-expire",
    ),
    path("tokens", tokens.TokenList.as_view(), name="tokens"),
    path("tokens/revoke", tokens.TokenBulkRevoke.as_view(), name="tokens-revoke"),
    path("consents", tokens.ConsentList.as_view(), name="consents"),
    path("consents/<int:consent_id>", tokens.ConsentRevoke.as_view(), name="consent"),
    path(
        "initial-access-tokens", registration.InitialAccessTokenList.as_view(), name="initial-access-tokens"
    ),
    path(
        "initial-access-tokens/<int:token_id>/revoke",
        registration.InitialAccessTokenRevoke.as_view(),
        name="initial-access-token-revoke",
    ),
    path("audit-events", audit.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/export", audit.AuditEventExport.as_view(), name="audit-events-export"),
    path("signing-keys", keys.SigningKeyList.as_view(), name="signing-keys"),
    path("signing-keys/rotate", keys.SigningKeyRotate.as_view(), name="signing-keys-rotate"),
    path("signing-keys/<str:kid>/revoke", keys.SigningKeyRevoke.as_view(), name="signing-key-revoke"),
    path("webhooks", webhooks.SubscriptionList.as_view(), name="webhooks"),
    path("webhooks/<int:subscription_id>", webhooks.SubscriptionDetail.as_view(), name="webhook"),
    path(
        "webhooks/<int:subscription_id>/secret/rotate",
        webhooks.SecretRotate.as_view(),
        name="webhook-secret-rotate",
    ),
    path("webhooks/<int:subscription_id>/test", webhooks.SendTestEvent.as_view(), name="webhook-test"),
    path(
        "webhooks/<int:subscription_id>/deliveries",
        webhooks.DeliveryList.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/replay",
        webhooks.DeliveryReplay.as_view(),
        name="webhook-replay",
    ),
    # The schema and its pages are public: they describe the API, not the server's data.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI under our CSP: its assets are static files (drf-spectacular-sidecar), its init
    # script a file this view serves (the split view), its style carries the nonce. No Redoc: its
    # page loads web fonts from a third party.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
]
