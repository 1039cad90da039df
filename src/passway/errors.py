"""Every error Passway raises on purpose, as one tree.

Domain code raises these; ``passway.problems`` alone turns them into ``application/problem+json``
responses (RFC 9457). Each class carries a stable machine-readable ``code`` (documented in the
README's error table) and the HTTP ``status`` it maps to::

    PasswayError                        500 internal_error
    ├── ConfigurationError              (start-up only: bad settings, bad catalog file, bad keys)
    ├── InvalidRequest                  400 invalid_request        (carries issues[])
    │   ├── MissingHeaders              400 missing_headers
    │   ├── UnsupportedProxyVersion     400 unsupported_proxy_version
    │   ├── InvalidAmpYaml              400 invalid_amp_yaml
    │   ├── InvalidTarget               400 invalid_target          (would move the target)
    │   ├── InvalidClientCredentials    400 invalid_client_credentials
    │   ├── OAuthStateInvalid           400 oauth_state_invalid
    │   ├── OAuthProviderDenied         400 oauth_provider_error
    │   └── TemplateVariableMissing     422 template_variable_missing
    ├── Unauthenticated                 401 unauthenticated
    ├── PermissionDenied                403 permission_denied
    │   ├── ProxyNotEnabled             403 proxy_not_enabled
    │   └── EgressDenied                403 egress_denied
    ├── NotFound                        404 not_found
    │   └── InstallationNotFound        404 installation_not_found
    ├── MethodNotAllowed                405 method_not_allowed
    ├── Conflict                        409 conflict
    ├── PayloadTooLarge                 413 payload_too_large
    ├── RequestHeadTooLarge             431 request_head_too_large
    ├── ProviderUnsupported             422 provider_unsupported
    ├── ConnectionNeedsReauthorization  424 connection_bad_credentials
    ├── Throttled                       429 throttled
    ├── UpstreamError                   502 provider_unreachable
    │   ├── TokenEndpointError          502 token_endpoint_error
    │   └── TokenRefreshCoolingDown     503 token_refresh_cooling_down
    ├── UpstreamTimeout                 504 provider_timeout
    ├── StoreUnavailable                503 store_unavailable       (the database is unreachable)
    └── TokenRefreshPending             503 token_refresh_pending   (another holder's refresh)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

IssueLocation = Literal["body", "header", "path", "query"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One input problem: where it is (``in``), which field (``name``), and what was wrong."""

    location: IssueLocation
    name: str
    detail: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"in": self.location, "name": self.name, "detail": self.detail}
        if self.value is not None:
            out["value"] = self.value
        return out


class PasswayError(Exception):
    """Base of every error Passway answers on purpose. Never carries a secret in its message."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    retryable: ClassVar[bool] = False
    remedy: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        issues: Sequence[Issue] = (),
        context: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.issues = tuple(issues)
        self.context = dict(context or {})
        self.retry_after = retry_after
        self.headers = dict(headers or {})


class ConfigurationError(PasswayError):
    code = "configuration_error"
    title = "Invalid configuration"


class InvalidRequest(PasswayError):
    status = 400
    code = "invalid_request"
    title = "Invalid request"


class MissingHeaders(InvalidRequest):
    code = "missing_headers"
    title = "Missing or malformed proxy headers"
    remedy = (
        "Send x-amp-proxy-version, x-amp-project-id, x-api-key and either "
        "x-amp-installation-id or x-amp-integration-name with x-amp-group-ref."
    )


class UnsupportedProxyVersion(InvalidRequest):
    code = "unsupported_proxy_version"
    title = "Unsupported proxy version"
    remedy = "Send x-amp-proxy-version: 1."


class InvalidAmpYaml(InvalidRequest):
    code = "invalid_amp_yaml"
    title = "Invalid amp.yaml"


class InvalidTarget(InvalidRequest):
    code = "invalid_target"
    title = "The request would leave the provider's base URL"


class TemplateVariableMissing(InvalidRequest):
    status = 422
    code = "template_variable_missing"
    title = "A provider URL template variable has no value"
    remedy = "Set the variable on the connection (providerWorkspaceRef or providerMetadata)."


class Unauthenticated(PasswayError):
    status = 401
    code = "unauthenticated"
    title = "Invalid or missing API key"
    remedy = "Send an active API key of this project in x-api-key."


class PermissionDenied(PasswayError):
    status = 403
    code = "permission_denied"
    title = "Permission denied"


class ProxyNotEnabled(PermissionDenied):
    code = "proxy_not_enabled"
    title = "Proxy is not enabled for this integration"
    remedy = "Set proxy.enabled: true for the integration in amp.yaml and deploy it."


class EgressDenied(PermissionDenied):
    code = "egress_denied"
    title = "The target address is not allowed"
    remedy = "List the host or network in PASSWAY_EGRESS_ALLOW if it is meant to be reached."


class NotFound(PasswayError):
    status = 404
    code = "not_found"
    title = "Not found"


class InstallationNotFound(NotFound):
    code = "installation_not_found"
    title = "Installation not found"


class Conflict(PasswayError):
    status = 409
    code = "conflict"
    title = "Conflict"


class MethodNotAllowed(PasswayError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class RequestHeadTooLarge(PasswayError):
    status = 431
    code = "request_head_too_large"
    title = "Request header fields too large"


class PayloadTooLarge(PasswayError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class ProviderUnsupported(PasswayError):
    status = 422
    code = "provider_unsupported"
    title = "The provider does not support this"


class ConnectionNeedsReauthorization(PasswayError):
    status = 424
    code = "connection_bad_credentials"
    title = "The connection's credentials were rejected; the customer must re-authorize"
    remedy = (
        "Ask the customer to connect again "
        "(POST /v1/oauth-connect or PATCH .../connections/{id}:oauth-update)."
    )


class Throttled(PasswayError):
    status = 429
    code = "throttled"
    title = "The provider asked to slow down; call not sent"
    retryable = True


class UpstreamError(PasswayError):
    status = 502
    code = "provider_unreachable"
    title = "The provider could not be reached"
    retryable = True


class TokenEndpointError(UpstreamError):
    code = "token_endpoint_error"
    title = "The provider's token endpoint failed"


class TokenRefreshCoolingDown(UpstreamError):
    status = 503
    code = "token_refresh_cooling_down"
    title = "A recent token refresh failed; not retrying yet"


class UpstreamTimeout(PasswayError):
    status = 504
    code = "provider_timeout"
    title = "The provider did not answer in time"
    retryable = True


class InvalidClientCredentials(InvalidRequest):
    code = "invalid_client_credentials"
    title = "The provider's token endpoint rejected the credentials"
    remedy = (
        "Check the client ID, client secret (and username/password) and the scopes, then retry."
    )


class OAuthStateInvalid(InvalidRequest):
    code = "oauth_state_invalid"
    title = "The OAuth state is unknown, expired or already used"
    remedy = "Start the connection again from the application (a new authorization URL)."


class OAuthProviderDenied(InvalidRequest):
    code = "oauth_provider_error"
    title = "The provider did not authorize the connection"


class StoreUnavailable(PasswayError):
    """The database cannot be reached: an outage, not a bug. Retry after a short wait."""

    status = 503
    code = "store_unavailable"
    title = "The database is unavailable"
    retryable = True

    def __init__(self, detail: str | None = None, *, retry_after: float | None = 5.0) -> None:
        super().__init__(detail, retry_after=retry_after)


class TokenRefreshPending(PasswayError):
    """Another process holds the connection's refresh and has not finished within the wait."""

    status = 503
    code = "token_refresh_pending"
    title = "The connection's token is being refreshed"
    retryable = True

    def __init__(
        self,
        detail: str | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        retry_after: float | None = 1.0,
    ) -> None:
        super().__init__(detail, context=context, retry_after=retry_after)
