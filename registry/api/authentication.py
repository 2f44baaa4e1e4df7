"""`Authorization: Api-Key <key>`: the department client a request comes from."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from registry.services.clients import department_client_for_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1") != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("the Api-Key header takes exactly one key")
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("the API key is not ASCII") from None
        client = department_client_for_key(key=key)
        if client is None:
            raise exceptions.AuthenticationFailed("unknown or inactive API key")
        return (client, None)

    def authenticate_header(self, request) -> str:
        return self.keyword


def scope_required(scope: str) -> type[BasePermission]:
    """A permission that admits department clients holding `scope`."""

    class _HasScope(BasePermission):
        message = f"this client may not {scope}"

        def has_permission(self, request, view) -> bool:
            client = request.user
            return bool(getattr(client, "has_scope", None) and client.has_scope(scope))

    _HasScope.__name__ = f"Has{scope.title()}Scope"
    return _HasScope


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how department clients authenticate."""

    target_class = ApiKeyAuthentication
    name = "DepartmentApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, as issued by `manage.py create_department_client`.",
        }
