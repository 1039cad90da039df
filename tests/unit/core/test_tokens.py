"""Pure token logic: expiry decisions, token-response decoding, refresh-token keeping, metadata."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from passway.core.provider import TokenField, TokenMetadataFields
from passway.core.tokens import (
    MalformedTokenResponse,
    capture_token_metadata,
    credentials_after_token_response,
    decode_token_body,
    expires_within,
    is_grant_revoked,
    lookup_path,
    parse_token_response,
    split_scopes,
)
from passway.records import Credentials, OAuthToken

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_token_expiring_within_margin_is_due() -> None:
    token = OAuthToken("a", expires_at=NOW + timedelta(seconds=30))
    assert expires_within(token, NOW, 60)
    assert not expires_within(token, NOW, 10)


def test_the_margin_is_at_most_half_of_the_tokens_lifetime() -> None:
    """A 20 s token under a 60 s margin is due after 10 s, not from the moment it is issued; a
    token whose issue time is unknown gets the whole margin."""
    token = OAuthToken("a", issued_at=NOW, expires_at=NOW + timedelta(seconds=20))
    assert not expires_within(token, NOW, 60)
    assert not expires_within(token, NOW + timedelta(seconds=9), 60)
    assert expires_within(token, NOW + timedelta(seconds=10), 60)
    long_lived = OAuthToken("b", issued_at=NOW, expires_at=NOW + timedelta(hours=1))
    assert expires_within(long_lived, NOW + timedelta(seconds=3541), 60)
    assert not expires_within(long_lived, NOW + timedelta(seconds=3539), 60)
    unknown_issue = OAuthToken("c", expires_at=NOW + timedelta(seconds=20))
    assert expires_within(unknown_issue, NOW, 60)


def test_expired_token_is_due_even_with_zero_margin() -> None:
    assert expires_within(OAuthToken("a", expires_at=NOW), NOW, 0)
    assert expires_within(OAuthToken("a", expires_at=NOW - timedelta(seconds=1)), NOW, 0)


def test_token_without_expiry_is_fresh_and_missing_token_is_due() -> None:
    assert not expires_within(OAuthToken("a"), NOW, 60)
    assert expires_within(None, NOW, 60)
    assert expires_within(OAuthToken(""), NOW, 60)


def test_json_and_form_token_bodies_decode_alike() -> None:
    as_json = decode_token_body(b'{"access_token":"x","expires_in":60}', "application/json")
    form_type = "application/x-www-form-urlencoded"
    as_form = decode_token_body(b"access_token=x&expires_in=60", form_type)
    assert parse_token_response(as_json).access_token == "x"
    assert parse_token_response(as_form).expires_in == 60.0
    # Content type missing or wrong: the body is sniffed.
    assert decode_token_body(b'{"access_token":"y"}', "text/plain")["access_token"] == "y"
    assert decode_token_body(b"access_token=z", None)["access_token"] == "z"


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1,2]", b"{not json"])
def test_undecodable_token_body_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedTokenResponse):
        decode_token_body(body, "application/json" if body.startswith((b"[", b"{")) else None)


def test_token_response_without_access_token_is_malformed() -> None:
    with pytest.raises(MalformedTokenResponse):
        parse_token_response({"token_type": "Bearer"})


def test_refresh_without_new_refresh_token_keeps_the_old_one() -> None:
    old_refresh = OAuthToken("rt-old", issued_at=NOW - timedelta(days=1))
    previous = Credentials(
        access_token=OAuthToken("at-old"), refresh_token=old_refresh, scopes=("a",)
    )
    response = parse_token_response({"access_token": "at-new", "expires_in": 3600})
    updated = credentials_after_token_response(previous, response, NOW)
    assert updated.refresh_token == old_refresh
    assert updated.access_token == OAuthToken(
        "at-new", issued_at=NOW, expires_at=NOW + timedelta(hours=1)
    )
    assert updated.scopes == ("a",)


def test_rotated_refresh_token_replaces_the_old_one_and_scopes_follow_the_response() -> None:
    previous = Credentials(access_token=OAuthToken("a"), refresh_token=OAuthToken("rt-old"))
    response = parse_token_response(
        {"access_token": "b", "refresh_token": "rt-new", "scope": "x y", "expires_in": "60"}
    )
    updated = credentials_after_token_response(previous, response, NOW)
    assert updated.refresh_token is not None and updated.refresh_token.token == "rt-new"
    assert updated.scopes == ("x", "y")
    assert updated.access_token is not None
    assert updated.access_token.expires_at == NOW + timedelta(seconds=60)


def test_only_grant_errors_count_as_revoked() -> None:
    assert is_grant_revoked("invalid_grant")
    assert is_grant_revoked("unauthorized_client")
    assert not is_grant_revoked("invalid_client")
    assert not is_grant_revoked("temporarily_unavailable")
    assert not is_grant_revoked(None)


def test_scopes_split_on_spaces_commas_and_lists() -> None:
    assert split_scopes("a b,c") == ("a", "b", "c")
    assert split_scopes(["a", "b"]) == ("a", "b")


def test_dot_paths_reach_nested_values() -> None:
    doc = {"owner": {"user": {"id": "u1"}}, "list": [{"x": 1}]}
    assert lookup_path(doc, "owner.user.id") == "u1"
    assert lookup_path(doc, "list.0.x") == 1
    assert lookup_path(doc, "owner.missing") is None


def test_token_metadata_capture_reads_every_configured_field() -> None:
    fields = TokenMetadataFields(
        workspace_ref_field="instance_url",
        consumer_ref_field="id",
        scopes_field="scope",
        other_fields=(
            TokenField("orgId", "id", capture=r"/id/(?P<result>[^/]+)/"),
            TokenField("team", "team.name"),
            TokenField("absent", "nope"),
        ),
    )
    doc = {
        "instance_url": "https://acme.my.salesforce.com",
        "id": "https://login.salesforce.com/id/00D123/005456",
        "scope": "api refresh_token",
        "team": {"name": "Red"},
    }
    captured = capture_token_metadata(doc, fields)
    assert captured.workspace_ref == "https://acme.my.salesforce.com"
    assert captured.consumer_ref == "https://login.salesforce.com/id/00D123/005456"
    assert captured.scopes == ("api", "refresh_token")
    assert captured.other == {
        "instance_url": "https://acme.my.salesforce.com",
        "orgId": "00D123",
        "team": "Red",
    }


def test_no_metadata_fields_capture_nothing() -> None:
    captured = capture_token_metadata({"access_token": "x"}, None)
    assert captured.workspace_ref is None and captured.other == {}
