"""RFC 8707 bound to our APIs (`server.models.Api`): which resources exist, which a client may
name, the scopes they define and their token lifetime (`server.oauth2.resource_indicators`)."""

from server import apis
from server.api_policy import server_vocabulary
from server.conf import server_settings
from server.oauth2.errors import clean_error_text
from server.oauth2.resource_indicators import InvalidTargetError, ResolvedResources, ResourcePolicy


class ApiResources(ResourcePolicy):
    """Resources are our APIs: the default API for every client, another for the clients it names."""

    def resolve(self, client, resources: list[str], request) -> ResolvedResources:
        django_request = getattr(request, "django_request", None)
        if not resources:
            # The default API; no query (its lifetime is the setting's): the hot path stays as it was.
            return ResolvedResources()
        found = apis.apis_for(client, resources, django_request)
        # Unknown and not permitted read alike: a client learns nothing of APIs it may not use.
        refused = [value for value in resources if not found.get(value, (None, False))[1]]
        if refused:
            names = clean_error_text(" ".join(refused), limit=120)
            raise InvalidTargetError(f"Unknown resource, or one this client may not ask for: {names}.")
        chosen = [found[value][0] for value in resources]
        # An API's own scopes, never one of this server's names (its API's, the operator API's):
        # with this server's API named too, the token would carry it there. Those come only
        # from the client's own scopes (finding 1 of the December review, docs/security.md).
        vocabulary = server_vocabulary()
        scopes = {
            scope for api in chosen if not api.is_default for scope in api.scopes if scope not in vocabulary
        }
        lifetimes = [api.access_token_lifetime for api in chosen]
        lifetime = None
        if any(lifetimes):
            # The shortest: a token for several APIs lives no longer than any of them allows.
            lifetime = min(value or server_settings.OAUTH2_ACCESS_TOKEN_LIFETIME for value in lifetimes)
        return ResolvedResources(audience=list(resources), scopes=frozenset(scopes), lifetime=lifetime)

    def default_audience(self, request) -> list[str]:
        return [apis.default_identifier(getattr(request, "django_request", None))]
