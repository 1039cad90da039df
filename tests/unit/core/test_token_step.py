"""Two-step auth, the pure part: the login request built from a catalog ``tokenRequest`` and the
token read from the answer; and the validator on ``tokenRequest``."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs

import pytest

from passway.catalog import validate_provider
from passway.core.token_step import parse_token_request, prepare, read_answer
from passway.errors import InvalidTarget, TemplateVariableMissing, TokenEndpointError


def spec(**fields: Any) -> Any:
    raw = {
        "url": "https://{{.domain}}/login",
        "bodyFormat": "json",
        "params": {"user": "{{.username}}", "password": "{{.password}}", "tenant": "{{.tenant}}"},
        "headers": {"X-Client": "passway"},
        "tokenPath": "data.token",
        **fields,
    }
    return parse_token_request(raw)


INPUTS = {"username": "ann", "password": 'p"w&x'}
VALUES = {"domain": "login.example.com", "tenant": "acme"}


def test_a_json_login_carries_the_inputs_and_connection_values() -> None:
    request = prepare(spec(), INPUTS, VALUES)
    assert request.url == "https://login.example.com/login"
    assert json.loads(request.body) == {"user": "ann", "password": 'p"w&x', "tenant": "acme"}
    assert request.headers == {
        "X-Client": "passway",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def test_a_form_login_with_basic_client_credentials() -> None:
    basic = {"username": "{{.username}}", "password": "{{.password}}"}
    request = prepare(spec(bodyFormat="form", basicAuth=basic), INPUTS, VALUES)
    assert parse_qs(request.body.decode()) == {
        "user": ["ann"],
        "password": ['p"w&x'],
        "tenant": ["acme"],
    }
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b'ann:p"w&x').decode()


def test_missing_or_hostile_values_are_refused_before_sending() -> None:
    with pytest.raises(TemplateVariableMissing):
        prepare(spec(), {"username": "ann"}, VALUES)
    with pytest.raises(InvalidTarget):
        prepare(spec(), INPUTS, {**VALUES, "domain": "evil.example.com/x"})
    header = spec(headers={"X-User": "{{.username}}"})
    with pytest.raises(TokenEndpointError):
        prepare(header, {**INPUTS, "username": "ann\r\nX-Evil: 1"}, VALUES)


def test_the_token_and_its_lifetime_are_read_from_the_answer() -> None:
    answer = json.dumps({"data": {"token": "t-1"}, "expires_in": "120"}).encode()
    step = read_answer(spec(expiresInPath="expires_in"), 200, answer)
    assert (step.token, step.expires_in) == ("t-1", 120.0)
    fixed = read_answer(spec(expiresInSeconds=900), 201, answer)
    assert fixed.expires_in == 900.0
    assert read_answer(spec(), 200, answer).expires_in is None
    odd = json.dumps({"data": {"token": "t-2"}, "expires_in": True}).encode()
    assert read_answer(spec(expiresInPath="expires_in"), 200, odd).expires_in is None


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, b'{"data": {"token": "t"}}'),
        (200, b"<html>"),
        (200, b'{"data": {}}'),
        (200, b'{"data": {"token": 7}}'),
        (200, b'{"data": {"token": "a\\r\\nb"}}'),
    ],
)
def test_an_unusable_answer_is_a_token_endpoint_error_without_the_body(
    status: int, body: bytes
) -> None:
    with pytest.raises(TokenEndpointError) as raised:
        read_answer(spec(), status, body)
    assert "secret" not in str(raised.value.detail)


@pytest.mark.parametrize(
    ("token_request", "field"),
    [
        ({"url": "https://a.example.com", "bodyFormat": "xml", "tokenPath": "t"}, "bodyFormat"),
        ({"bodyFormat": "json", "tokenPath": "t"}, "url"),
        ({"url": "https://a.example.com", "bodyFormat": "json"}, "tokenPath"),
        (
            {"url": "https://a.example.com", "bodyFormat": "json", "tokenPath": "t", "x": 1},
            "x",
        ),
        (
            {"url": "https://{{.a}}:{{.p}}", "bodyFormat": "json", "tokenPath": "t"},
            "url",
        ),
        (
            {
                "url": "https://a.example.com",
                "bodyFormat": "json",
                "tokenPath": "t",
                "basicAuth": 1,
            },
            "basicAuth",
        ),
        (
            {
                "url": "https://a.example.com",
                "bodyFormat": "json",
                "tokenPath": "t",
                "expiresInSeconds": 0,
            },
            "expiresInSeconds",
        ),
    ],
)
def test_the_validator_names_each_bad_token_request_field(
    token_request: dict[str, Any], field: str
) -> None:
    entry = {
        "name": "p",
        "authType": "custom",
        "baseURL": "https://api.example.com",
        "customInputs": ["username"],
        "customMultiStep": True,
        "customHeaders": [{"name": "Authorization", "valueTemplate": "Bearer {{.accessToken}}"}],
        "tokenRequest": token_request,
    }
    fields = [i.field for i in validate_provider(entry, "p")]
    assert f"tokenRequest.{field}" in fields, fields
    entry["authType"] = "apiKey"
    assert "tokenRequest" in [i.field for i in validate_provider(entry, "p")]
