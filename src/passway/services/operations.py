"""Reading operations (the API and the CLI): one page of a project's operations, one operation.

Pages are newest first. The page token is opaque to clients: the id of the last operation shown
(ids start with their time), base64url-encoded with a version prefix so its shape can change.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from passway.errors import InvalidRequest, Issue, NotFound
from passway.observability.request_ids import is_request_id
from passway.operations.record import FAILURE, SUCCESS, OperationRecord
from passway.store.operations import OperationFilter, OperationStore

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_TOKEN_PREFIX = "o1:"  # noqa: S105 - a version tag, not a secret


@dataclass(frozen=True, slots=True)
class OperationPage:
    operations: list[OperationRecord]
    next_page_token: str | None


def encode_page_token(last_id: str) -> str:
    return base64.urlsafe_b64encode((_TOKEN_PREFIX + last_id).encode()).decode().rstrip("=")


def decode_page_token(token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    last_id = text[len(_TOKEN_PREFIX) :] if text.startswith(_TOKEN_PREFIX) else ""
    if not is_request_id(last_id):
        raise InvalidRequest(
            "pageToken is not a token this API gave out.",
            issues=[Issue("query", "pageToken", "Pass nextPageToken from a previous page.")],
        )
    return last_id


def check_result(result: str | None) -> None:
    if result is not None and result not in (SUCCESS, FAILURE):
        raise InvalidRequest(
            "result must be success or failure.",
            issues=[Issue("query", "result", "Must be success or failure.", result[:32])],
        )


async def list_operations(
    store: OperationStore,
    project_id: str,
    where: OperationFilter,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    page_token: str | None = None,
) -> OperationPage:
    """One page, newest first; ``next_page_token`` is None on the last page."""
    check_result(where.result)
    before = decode_page_token(page_token) if page_token else None
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    found = await store.list_operations(project_id, where, limit=size + 1, before_id=before)
    if len(found) > size:
        found = found[:size]
        return OperationPage(found, encode_page_token(found[-1].id))
    return OperationPage(found, None)


async def get_operation(
    store: OperationStore, project_id: str, operation_id: str
) -> OperationRecord:
    found = await store.get_operation(project_id, operation_id.lower())
    if found is None:
        raise NotFound(
            f"No operation {operation_id[:64]!r} in this project (operations are kept for "
            "PASSWAY_OPERATIONS_RETENTION_DAYS days, and appear within a second or two)."
        )
    return found
