"""Typed provider entries. The JSON form (file and API) uses the camelCase field names shown in
``to_json``; these classes are what the rest of Passway reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from passway.core.token_step import TokenRequest

AuthType = Literal["oauth2", "apiKey", "basic", "custom"]
GrantType = Literal["authorizationCode", "authorizationCodePKCE", "clientCredentials", "password"]

# The implicit module every provider has: its own base URL, when no named module is chosen.
ROOT_MODULE = "root"


@dataclass(frozen=True, slots=True)
class HeaderTemplate:
    name: str
    value_template: str


@dataclass(frozen=True, slots=True)
class QueryTemplate:
    name: str
    value_template: str


@dataclass(frozen=True, slots=True)
class TokenField:
    """A value captured from the token response: ``path`` in dot notation, optional regex
    ``capture`` with a named group ``result``."""

    name: str
    path: str
    capture: str | None = None


@dataclass(frozen=True, slots=True)
class TokenMetadataFields:
    workspace_ref_field: str | None = None
    consumer_ref_field: str | None = None
    scopes_field: str | None = None
    other_fields: tuple[TokenField, ...] = ()


@dataclass(frozen=True, slots=True)
class AccessTokenHeader:
    name: str
    value_prefix: str = ""


@dataclass(frozen=True, slots=True)
class MetadataInput:
    """A value a connection supplies. ``pattern`` (a regular expression the whole value must match)
    and ``enum`` (the allowed values) are checked at connection creation and again when the value
    is used, on top of the rule of the URL slot the value fills."""

    name: str
    default_value: str | None = None
    modules: tuple[str, ...] = ()
    pattern: str | None = None
    enum: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    base_url: str
    proxy: bool


@dataclass(frozen=True, slots=True)
class Support:
    proxy: bool = False
    read: bool = False
    write: bool = False
    subscribe: bool = False
    delete: bool = False


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    display_name: str
    auth_type: AuthType
    base_url: str
    support: Support
    template_vars: tuple[str, ...] = ()
    # oauth2
    grant_type: GrantType | None = None
    auth_url: str | None = None
    token_url: str | None = None
    auth_url_params: Mapping[str, str] = field(default_factory=dict)
    # Extra form fields of the token request (authorization code and client credentials grants).
    token_params: Mapping[str, str] = field(default_factory=dict)
    # Joins the requested scopes (a space unless the provider wants another separator).
    scope_separator: str | None = None
    explicit_scopes_required: bool = False
    explicit_workspace_required: bool = False
    audience: tuple[str, ...] = ()
    token_metadata_fields: TokenMetadataFields | None = None
    oauth2_access_token_header: AccessTokenHeader | None = None
    # apiKey
    api_key_attachment: Literal["header", "query"] | None = None
    api_key_header_name: str | None = None
    api_key_header_value_prefix: str | None = None
    api_key_query_name: str | None = None
    # custom
    custom_inputs: tuple[str, ...] = ()
    custom_headers: tuple[HeaderTemplate, ...] = ()
    custom_query_params: tuple[QueryTemplate, ...] = ()
    custom_multi_step: bool = False
    custom_provider_inputs: tuple[str, ...] = ()
    # custom: a token obtained from the custom inputs first (two-step auth, ``core.token_step``)
    token_request: TokenRequest | None = None
    # any auth type: non-credential headers and query parameters set on every proxied call,
    # rendered from the connection's template values (``A || B`` alternatives allowed)
    proxy_headers: tuple[HeaderTemplate, ...] = ()
    proxy_query_params: tuple[QueryTemplate, ...] = ()
    # metadata
    metadata_inputs: tuple[MetadataInput, ...] = ()
    metadata_post_authentication: tuple[str, ...] = ()
    post_auth_info_needed: bool = False
    # modules
    default_module: str | None = None
    modules: Mapping[str, Module] = field(default_factory=dict)
    auth_health_check_url: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # Private or loopback hosts and networks this provider's calls may reach, on top of
    # PASSWAY_EGRESS_ALLOW (operator catalog ``egressAllow``: host names, ``*.suffix``, IPs, CIDRs).
    egress_allow: tuple[str, ...] = ()

    def module(self, name: str) -> Module | None:
        return self.modules.get(name)

    def to_json(self) -> dict[str, Any]:
        """The public JSON form served by ``GET /v1/providers`` (same names as the catalog file)."""
        out: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "authType": self.auth_type,
            "baseURL": self.base_url,
            "support": {
                "proxy": self.support.proxy,
                "read": self.support.read,
                "write": self.support.write,
                "subscribe": self.support.subscribe,
                "delete": self.support.delete,
            },
            "templateVars": list(self.template_vars),
            "postAuthInfoNeeded": self.post_auth_info_needed,
        }
        if self.auth_type == "oauth2":
            out.update(
                grantType=self.grant_type,
                authURL=self.auth_url,
                tokenURL=self.token_url,
                explicitScopesRequired=self.explicit_scopes_required,
                explicitWorkspaceRequired=self.explicit_workspace_required,
            )
            if self.auth_url_params:
                out["authURLParams"] = dict(self.auth_url_params)
            if self.token_params:
                out["tokenParams"] = dict(self.token_params)
            if self.scope_separator is not None:
                out["scopeSeparator"] = self.scope_separator
            if self.audience:
                out["audience"] = list(self.audience)
            if self.token_metadata_fields is not None:
                tmf = self.token_metadata_fields
                fields: dict[str, Any] = {}
                if tmf.workspace_ref_field:
                    fields["workspaceRefField"] = tmf.workspace_ref_field
                if tmf.consumer_ref_field:
                    fields["consumerRefField"] = tmf.consumer_ref_field
                if tmf.scopes_field:
                    fields["scopesField"] = tmf.scopes_field
                if tmf.other_fields:
                    fields["otherFields"] = [
                        {"name": f.name, "path": f.path}
                        | ({"capture": f.capture} if f.capture else {})
                        for f in tmf.other_fields
                    ]
                out["tokenMetadataFields"] = fields
            if self.oauth2_access_token_header is not None:
                out["oauth2AccessTokenHeader"] = {
                    "name": self.oauth2_access_token_header.name,
                    "valuePrefix": self.oauth2_access_token_header.value_prefix,
                }
        if self.auth_type == "apiKey":
            out["apiKeyAttachment"] = self.api_key_attachment
            if self.api_key_header_name is not None:
                out["apiKeyHeaderName"] = self.api_key_header_name
            if self.api_key_header_value_prefix is not None:
                out["apiKeyHeaderValuePrefix"] = self.api_key_header_value_prefix
            if self.api_key_query_name is not None:
                out["apiKeyQueryName"] = self.api_key_query_name
        if self.custom_inputs:
            out["customInputs"] = list(self.custom_inputs)
        if self.auth_type == "custom":
            if self.custom_headers:
                out["customHeaders"] = [
                    {"name": h.name, "valueTemplate": h.value_template} for h in self.custom_headers
                ]
            if self.custom_query_params:
                out["customQueryParams"] = [
                    {"name": q.name, "valueTemplate": q.value_template}
                    for q in self.custom_query_params
                ]
            if self.custom_multi_step:
                out["customMultiStep"] = True
            if self.custom_provider_inputs:
                out["customProviderInputs"] = list(self.custom_provider_inputs)
            if self.token_request is not None:
                out["tokenRequest"] = self.token_request.to_json()
        if self.proxy_headers:
            out["proxyHeaders"] = [
                {"name": h.name, "valueTemplate": h.value_template} for h in self.proxy_headers
            ]
        if self.proxy_query_params:
            out["proxyQueryParams"] = [
                {"name": q.name, "valueTemplate": q.value_template} for q in self.proxy_query_params
            ]
        if self.metadata_inputs:
            out["metadataInputs"] = [
                {"name": m.name}
                | ({"defaultValue": m.default_value} if m.default_value is not None else {})
                | ({"modules": list(m.modules)} if m.modules else {})
                | ({"pattern": m.pattern} if m.pattern is not None else {})
                | ({"enum": list(m.enum)} if m.enum else {})
                for m in self.metadata_inputs
            ]
        if self.metadata_post_authentication:
            out["metadataPostAuthentication"] = list(self.metadata_post_authentication)
        if self.default_module is not None:
            out["defaultModule"] = self.default_module
        if self.modules:
            out["modules"] = {
                m.name: {"baseURL": m.base_url, "proxy": m.proxy} for m in self.modules.values()
            }
        if self.auth_health_check_url is not None:
            out["authHealthCheckURL"] = self.auth_health_check_url
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


class ProviderLookup(Protocol):
    """Finds a provider by the name a user wrote (the catalog implements it)."""

    def get(self, name: str) -> Provider | None: ...
