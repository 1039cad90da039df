"""Checks of one catalog entry in its JSON form, before it becomes a ``Provider``.

Every problem is reported with the provider and the field, all at once, so that an operator fixing a
``PASSWAY_CATALOG_FILE`` sees the whole list at start-up. Pure: a mapping in, a list of issues out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from passway.core.provider import ROOT_MODULE
from passway.core.template_syntax import (
    TemplateSyntaxError,
    alternatives,
    parse_url_template,
    split_template,
)
from passway.core.token_step import token_request_problems

AUTH_TYPES = ("oauth2", "apiKey", "basic", "custom")
GRANT_TYPES = ("authorizationCode", "authorizationCodePKCE", "clientCredentials", "password")
SUPPORT_FLAGS = ("proxy", "read", "write", "subscribe", "delete")
# The implicit module meaning "the provider's root baseURL" (the built-in data uses it without
# listing it under ``modules``).

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


@dataclass(frozen=True, slots=True)
class CatalogIssue:
    provider: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"provider {self.provider!r}: {self.field}: {self.message}"


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(i, str) for i in v)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(i, str) for i in v.values())


def _is_dict(v: Any) -> bool:
    return isinstance(v, dict)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


_FIELDS: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    "name": (_is_str, "a string"),
    "displayName": (_is_str, "a string"),
    "authType": (_is_str, "a string"),
    "baseURL": (_is_str, "a string"),
    "support": (_is_dict, "an object"),
    "templateVars": (_is_str_list, "a list of strings"),
    "grantType": (_is_str, "a string"),
    "authURL": (_is_str, "a string"),
    "tokenURL": (_is_str, "a string"),
    "authURLParams": (_is_str_map, "an object of strings"),
    "tokenParams": (_is_str_map, "an object of strings"),
    "scopeSeparator": (_is_str, "a string"),
    "explicitScopesRequired": (_is_bool, "true or false"),
    "explicitWorkspaceRequired": (_is_bool, "true or false"),
    "audience": (_is_str_list, "a list of strings"),
    "tokenMetadataFields": (_is_dict, "an object"),
    "oauth2AccessTokenHeader": (_is_dict, "an object"),
    "apiKeyAttachment": (_is_str, "a string"),
    "apiKeyHeaderName": (_is_str, "a string"),
    "apiKeyHeaderValuePrefix": (_is_str, "a string"),
    "apiKeyQueryName": (_is_str, "a string"),
    "customInputs": (_is_str_list, "a list of strings"),
    "customHeaders": (_is_list, "a list"),
    "customQueryParams": (_is_list, "a list"),
    "customMultiStep": (_is_bool, "true or false"),
    "proxyHeaders": (_is_list, "a list"),
    "proxyQueryParams": (_is_list, "a list"),
    "customProviderInputs": (_is_str_list, "a list of strings"),
    "tokenRequest": (_is_dict, "an object"),
    "metadataInputs": (_is_list, "a list"),
    "metadataPostAuthentication": (_is_str_list, "a list of strings"),
    "postAuthInfoNeeded": (_is_bool, "true or false"),
    "defaultModule": (_is_str, "a string"),
    "modules": (_is_dict, "an object"),
    "authHealthCheckURL": (_is_str, "a string"),
    "labels": (_is_str_map, "an object of strings"),
    "egressAllow": (_is_str_list, "a list of strings"),
}

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_EGRESS_HOST = re.compile(rf"(\*\.)?{_LABEL}(\.{_LABEL})*\.?\Z")


def _egress_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``egressAllow`` entries: a host name, ``*.suffix``, an IP address or a CIDR."""
    for index, entry in enumerate(raw.get("egressAllow") or ()):
        text = entry.strip().strip("[]")
        try:
            ipaddress.ip_network(text, strict=False)
            continue
        except ValueError:
            pass
        if "/" in text or not _EGRESS_HOST.match(text):
            yield f"egressAllow[{index}]", "must be a host name, *.suffix, IP address or CIDR"


def validate_provider(raw: Any, label: str) -> list[CatalogIssue]:
    """Every problem of one entry; an empty list means ``parse_provider`` will accept it."""
    if not isinstance(raw, dict):
        return [CatalogIssue(label, "(entry)", "must be an object")]
    name = raw.get("name")
    provider = name if isinstance(name, str) and name else label
    return [CatalogIssue(provider, field, message) for field, message in _problems(raw)]


def _problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for field in raw:
        if field not in _FIELDS:
            yield field, "unknown field"
    bad = {f for f, (check, _) in _FIELDS.items() if f in raw and raw[f] is not None}
    bad = {f for f in bad if not _FIELDS[f][0](raw[f])}
    for field in sorted(bad):
        yield field, f"must be {_FIELDS[field][1]}"
    for field in ("name", "authType", "baseURL"):
        if not raw.get(field):
            yield field, "is required"
    if bad:
        return  # the checks below assume the types are right
    name = raw.get("name")
    if name and not _NAME.match(name):
        yield "name", "must be letters, digits, '-', '_' or '.' (at most 100)"
    auth = raw.get("authType")
    if auth and auth not in AUTH_TYPES:
        yield "authType", f"unknown auth type {auth!r} (expected one of {', '.join(AUTH_TYPES)})"
    for flag, value in (raw.get("support") or {}).items():
        if flag not in SUPPORT_FLAGS:
            yield f"support.{flag}", "unknown capability flag"
        elif not isinstance(value, bool):
            yield f"support.{flag}", "must be true or false"
    yield from _url_problems(raw)
    if auth == "oauth2":
        yield from _oauth2_problems(raw)
    elif auth == "apiKey":
        yield from _api_key_problems(raw)
    elif auth == "custom":
        yield from _custom_problems(raw)
    yield from _metadata_problems(raw)
    yield from _proxy_value_problems(raw)
    if raw.get("tokenRequest") is not None:
        yield from token_request_problems(raw["tokenRequest"], auth)
    yield from _egress_problems(raw)


def _url_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    modules = raw.get("modules") or {}
    reached_through_modules = bool(modules) and raw.get("defaultModule") in modules
    urls: list[tuple[str, str, bool]] = [("baseURL", raw.get("baseURL") or "", True)]
    for key in ("authURL", "tokenURL", "authHealthCheckURL"):
        if raw.get(key):
            urls.append((key, raw[key], True))
    for module, spec in modules.items():
        if not isinstance(spec, dict):
            yield f"modules.{module}", "must be an object with baseURL and proxy"
            continue
        for extra in set(spec) - {"baseURL", "proxy"}:
            yield f"modules.{module}.{extra}", "unknown field"
        if not isinstance(spec.get("baseURL"), str) or not spec["baseURL"]:
            yield f"modules.{module}.baseURL", "is required"
            continue
        if not isinstance(spec.get("proxy", False), bool):
            yield f"modules.{module}.proxy", "must be true or false"
        urls.append((f"modules.{module}.baseURL", spec["baseURL"], bool(spec.get("proxy"))))
    used: dict[str, None] = {}
    for field, url, strict in urls:
        if not url:
            continue
        try:
            for alternative in alternatives(url):
                used.update(dict.fromkeys(parse_url_template(alternative).slots))
        except TemplateSyntaxError as exc:
            # A root URL left as a placeholder is tolerated when every call goes through modules.
            if strict and not (field == "baseURL" and reached_through_modules):
                yield field, f"not a usable URL template: {exc}"
    declared = raw.get("templateVars")
    if declared is not None and set(declared) != set(used):
        yield "templateVars", f"must list the variables the URLs use: {sorted(used)}"
    default = raw.get("defaultModule")
    if default is not None and default not in modules and default != ROOT_MODULE:
        yield "defaultModule", f"{default!r} is not one of the provider's modules"


def _oauth2_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    grant = raw.get("grantType")
    if grant not in GRANT_TYPES:
        yield "grantType", f"must be one of {', '.join(GRANT_TYPES)} for oauth2"
    if not raw.get("tokenURL"):
        yield "tokenURL", "is required for oauth2"
    if grant in ("authorizationCode", "authorizationCodePKCE") and not raw.get("authURL"):
        yield "authURL", f"is required for the {grant} grant"
    if raw.get("scopeSeparator") == "":
        yield "scopeSeparator", "must not be empty"
    header = raw.get("oauth2AccessTokenHeader")
    if header is not None:
        if not isinstance(header.get("name"), str) or not _HEADER_NAME.match(header["name"]):
            yield "oauth2AccessTokenHeader.name", "must be a valid header name"
        if not isinstance(header.get("valuePrefix", ""), str):
            yield "oauth2AccessTokenHeader.valuePrefix", "must be a string"
    tmf = raw.get("tokenMetadataFields") or {}
    for key, value in tmf.items():
        if key == "otherFields":
            yield from _other_fields_problems(value)
        elif key not in ("workspaceRefField", "consumerRefField", "scopesField"):
            yield f"tokenMetadataFields.{key}", "unknown field"
        elif not isinstance(value, str) or not value:
            yield f"tokenMetadataFields.{key}", "must be a non-empty string"


def _other_fields_problems(value: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(value, list):
        yield "tokenMetadataFields.otherFields", "must be a list"
        return
    for index, item in enumerate(value):
        where = f"tokenMetadataFields.otherFields[{index}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("path"):
            yield where, "must be an object with name and path"
            continue
        capture = item.get("capture")
        if capture is not None:
            try:
                if "result" not in re.compile(capture).groupindex:
                    yield f"{where}.capture", "must have a named group 'result'"
            except (re.error, TypeError):
                yield f"{where}.capture", "is not a valid regular expression"


def _api_key_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    attachment = raw.get("apiKeyAttachment")
    if attachment not in ("header", "query"):
        yield "apiKeyAttachment", "must be 'header' or 'query' for apiKey"
    elif attachment == "header":
        header = raw.get("apiKeyHeaderName")
        if not header or not _HEADER_NAME.match(header):
            yield "apiKeyHeaderName", "must be a valid header name when the key goes in a header"
    elif not raw.get("apiKeyQueryName"):
        yield "apiKeyQueryName", "is required when the key goes in the query"


def _custom_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    inputs = set(raw.get("customInputs") or ())
    for key in ("customHeaders", "customQueryParams"):
        for index, item in enumerate(raw.get(key) or ()):
            where = f"{key}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                yield where, "must be an object with name and valueTemplate"
                continue
            if key == "customHeaders" and not _HEADER_NAME.match(item["name"]):
                yield f"{where}.name", "must be a valid header name"
            template = item.get("valueTemplate")
            if not isinstance(template, str):
                yield f"{where}.valueTemplate", "must be a string"
                continue
            try:
                names = [text for is_var, text in split_template(template) if is_var]
            except TemplateSyntaxError as exc:
                yield f"{where}.valueTemplate", str(exc)
                continue
            unknown = sorted(set(names) - inputs)
            if unknown and not raw.get("customMultiStep"):
                yield f"{where}.valueTemplate", f"uses {unknown} not listed in customInputs"


def _metadata_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    modules = raw.get("modules") or {}
    seen: set[str] = set()
    for index, item in enumerate(raw.get("metadataInputs") or ()):
        where = f"metadataInputs[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            yield where, "must be an object with a name"
            continue
        for extra in set(item) - {"name", "defaultValue", "modules", "pattern", "enum"}:
            yield f"{where}.{extra}", "unknown field"
        yield from _value_rule_problems(where, item)
        if item["name"] in seen:
            yield f"{where}.name", f"duplicate input {item['name']!r}"
        seen.add(item["name"])
        if not isinstance(item.get("defaultValue", ""), str):
            yield f"{where}.defaultValue", "must be a string"
        listed = item.get("modules") or []
        if not _is_str_list(listed):
            yield f"{where}.modules", "must be a list of strings"
            continue
        for module in listed:
            if module not in modules:
                yield f"{where}.modules", f"{module!r} is not one of the provider's modules"


def _value_rule_problems(where: str, item: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    pattern = item.get("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            yield f"{where}.pattern", "is not a valid regular expression"
    enum = item.get("enum")
    if enum is not None and (not _is_str_list(enum) or not enum):
        yield f"{where}.enum", "must be a non-empty list of strings"


# Headers the credential placement of each auth type sets: a proxyHeaders entry may not replace one.
_CREDENTIAL_HEADERS = {"oauth2": "authorization", "basic": "authorization"}


def _proxy_value_problems(raw: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    names: set[str] = set()
    for key in ("proxyHeaders", "proxyQueryParams"):
        for index, item in enumerate(raw.get(key) or ()):
            where = f"{key}[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                yield where, "must be an object with name and valueTemplate"
                continue
            for extra in set(item) - {"name", "valueTemplate"}:
                yield f"{where}.{extra}", "unknown field"
            name = item["name"]
            if key == "proxyHeaders":
                if not _HEADER_NAME.match(name):
                    yield f"{where}.name", "must be a valid header name"
                lowered = name.lower()
                credential = {_CREDENTIAL_HEADERS.get(raw.get("authType") or "", "")}
                credential.add((raw.get("apiKeyHeaderName") or "").lower())
                credential.add(
                    ((raw.get("oauth2AccessTokenHeader") or {}).get("name") or "").lower()
                )
                if lowered in credential:
                    yield f"{where}.name", "is the header the credential goes in"
                if lowered in names:
                    yield f"{where}.name", f"duplicate header {name!r}"
                names.add(lowered)
            elif not name or name == raw.get("apiKeyQueryName"):
                yield f"{where}.name", "must be a name other than the API key's parameter"
            template = item.get("valueTemplate")
            if not isinstance(template, str) or not template:
                yield f"{where}.valueTemplate", "must be a non-empty string"
                continue
            try:
                for option in alternatives(template):
                    list(split_template(option))
            except TemplateSyntaxError as exc:
                yield f"{where}.valueTemplate", str(exc)
