"""API keys: shown once, stored as prefix + hash, recognised only in their exact form."""

from __future__ import annotations

from passway.apikeys import (
    active_key_for,
    generate_api_key,
    hash_api_key,
    key_matches,
    lookup_prefix,
    masked,
)


def test_a_new_key_is_found_by_its_prefix_and_matches_only_its_hash() -> None:
    raw, prefix, key_hash = generate_api_key()
    assert lookup_prefix(raw) == prefix
    assert key_hash == hash_api_key(raw) and raw not in key_hash
    assert key_matches(raw, key_hash)
    assert not key_matches(raw[:-1] + ("A" if raw[-1] != "A" else "B"), key_hash)
    assert masked(prefix).startswith(f"pw_{prefix}_") and raw[-10:] not in masked(prefix)


def test_keys_are_unique() -> None:
    assert len({generate_api_key()[0] for _ in range(200)}) == 200


def test_anything_not_shaped_like_a_key_has_no_prefix() -> None:
    raw, _prefix, _hash = generate_api_key()
    for bad in (
        "",
        "pw_",
        raw[:-1],
        raw + "x",
        "xx" + raw[2:],
        raw.replace("_", "-"),
        "Bearer " + raw,
    ):
        assert lookup_prefix(bad) is None, bad


def test_the_active_key_is_found_among_candidates_revoked_ones_never() -> None:
    """One rule for the management API and the proxy: a revoked key is compared like any other
    (constant time) and then refused; another key with the same prefix is not a match."""
    from dataclasses import replace

    from support.records import Records

    records = Records()
    raw, prefix, key_hash = generate_api_key()
    other_raw, _, other_hash = generate_api_key()
    live = records.api_key("p1", prefix=prefix, key_hash=key_hash)
    other = records.api_key("p1", prefix=prefix, key_hash=other_hash)
    assert active_key_for(raw, [other, live]) == live
    assert active_key_for(raw, [replace(live, active=False), other]) is None
    assert active_key_for(other_raw, [live]) is None
    assert active_key_for(raw, []) is None
