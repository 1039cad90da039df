"""The authorization request: PKCE S256, state hashing, the authorization URL, redirect checks."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from passway.catalog import parse_provider
from passway.core.provider import Provider
from passway.oauth.authorize import (
    authorization_url,
    callback_url,
    code_challenge,
    is_acceptable_redirect,
    new_code_verifier,
    new_state,
    state_id,
    uses_pkce,
)


def provider(**fields: object) -> Provider:
    entry = {
        "name": "p",
        "authType": "oauth2",
        "baseURL": "https://api.example.com",
        "grantType": "authorizationCode",
        "authURL": "https://example.com/authorize",
        "tokenURL": "https://example.com/token",
        **fields,
    }
    return parse_provider(entry)


def test_s256_challenge_matches_the_rfc_7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_states_and_verifiers_are_long_random_and_only_their_hash_is_an_id() -> None:
    states = {new_state() for _ in range(100)}
    assert len(states) == 100 and all(len(s) >= 43 for s in states)
    state = new_state()
    assert state not in state_id(state) and len(state_id(state)) == 64
    assert 43 <= len(new_code_verifier()) <= 128


def test_authorization_url_carries_every_parameter_once() -> None:
    p = provider(authURLParams={"prompt": "login", "access_type": "offline"}, audience=["api"])
    url = authorization_url(
        "https://example.com/authorize",
        p,
        client_id="cid",
        redirect_uri="https://passway.example/callbacks/v1/oauth",
        scopes=("a", "b"),
        state="st",
        challenge="ch",
    )
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "prompt": ["login"],
        "access_type": ["offline"],
        "response_type": ["code"],
        "client_id": ["cid"],
        "redirect_uri": ["https://passway.example/callbacks/v1/oauth"],
        "scope": ["a b"],
        "audience": ["api"],
        "code_challenge": ["ch"],
        "code_challenge_method": ["S256"],
        "state": ["st"],
    }


def test_authorization_url_keeps_a_query_already_in_the_auth_url() -> None:
    url = authorization_url(
        "https://example.com/authorize?tenant=x",
        provider(),
        client_id="c",
        redirect_uri="r",
        scopes=(),
        state="s",
        challenge=None,
    )
    assert url.startswith("https://example.com/authorize?tenant=x&")
    assert "scope" not in parse_qs(urlsplit(url).query)
    assert "code_challenge" not in url


def test_pkce_is_used_unless_the_catalog_switches_it_off() -> None:
    assert uses_pkce(provider(grantType="authorizationCodePKCE"))
    assert uses_pkce(provider())
    assert not uses_pkce(provider(labels={"pkce": "false"}))
    assert uses_pkce(provider(grantType="authorizationCodePKCE", labels={"pkce": "false"}))


def test_callback_url_is_under_the_public_url() -> None:
    assert callback_url("https://p.example/") == "https://p.example/callbacks/v1/oauth"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://app.example.com/done", True),
        ("http://localhost:3000/x?y=1", True),
        ("javascript:alert(1)", False),
        ("//evil.example", False),
        ("https://user:pw@app.example.com/", False),
        ("/relative", False),
    ],
)
def test_after_connect_redirects_must_be_absolute_http_urls(url: str, ok: bool) -> None:
    assert is_acceptable_redirect(url) is ok


def test_a_redirect_url_that_cannot_be_split_is_refused_not_raised() -> None:
    from passway.oauth.authorize import is_acceptable_redirect

    assert is_acceptable_redirect("https://app.example/done?x=1")
    for bad in (
        "http://[::1",
        "https://app.example:port/",
        "https://user:pw@app.example/",
        "ftp://x",
    ):
        assert not is_acceptable_redirect(bad), bad
