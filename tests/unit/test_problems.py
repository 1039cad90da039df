"""Every Passway error renders as the same problem+json document with the marker header."""

from __future__ import annotations

import json

from passway.errors import Issue, MissingHeaders, Throttled, UpstreamTimeout
from passway.problems import CONTENT_TYPE, MARKER_HEADER, problem_body, problem_headers


def test_the_document_carries_the_contract_fields_and_issues() -> None:
    error = MissingHeaders(
        "x-api-key is missing", issues=[Issue("header", "x-api-key", "Required.")]
    )
    body = problem_body(error, instance="/v1/x", request_id="r-1", subsystem="proxy")
    doc = json.loads(body)
    assert doc["type"] == "urn:passway:problem:missing_headers"
    assert (doc["status"], doc["code"], doc["subsystem"]) == (400, "missing_headers", "proxy")
    assert doc["detail"] == "x-api-key is missing" and doc["instance"] == "/v1/x"
    assert doc["requestId"] == "r-1" and doc["time"].endswith("Z")
    assert doc["issues"] == [{"in": "header", "name": "x-api-key", "detail": "Required."}]
    assert doc["retryable"] is False and "remedy" in doc


def test_headers_mark_the_answer_as_passway_s_own() -> None:
    error = UpstreamTimeout()
    headers = dict(problem_headers(error, 10, "r-2"))
    assert headers[b"content-type"] == CONTENT_TYPE.encode()
    assert headers[MARKER_HEADER.encode()] == b"provider_timeout"
    assert headers[b"content-length"] == b"10"


def test_retry_after_is_rounded_up_and_extra_headers_are_added() -> None:
    error = Throttled(retry_after=1.2, headers={"X-Amp-Retryable": "true"})
    headers = problem_headers(error, 0, "r-3")
    assert (b"retry-after", b"2") in headers
    assert (b"x-amp-retryable", b"true") in headers
    doc = json.loads(problem_body(error, instance="/", request_id="r-3", subsystem="proxy"))
    assert doc["retryAfter"] == 1.2 and doc["retryable"] is True
