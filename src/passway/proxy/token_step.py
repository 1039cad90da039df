"""Two-step auth on the proxy path: get the connection's token, keep it until it expires.

Tokens live in this process only (they are re-obtainable from the stored credentials at any time,
so nothing is written to the store): one per connection version, dropped a minute before the
lifetime the answer gives, or, without one, when the provider answers 401. One request per
connection at a time; concurrent calls wait for it. The token URL goes through the same
egress-guarded HTTP client as every other call (``passway.http1.client``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from passway.core import token_step
from passway.core.credentials import place_credentials
from passway.core.templates import connection_template_values
from passway.egress import egress_denial
from passway.errors import PasswayError, TokenEndpointError, UpstreamTimeout
from passway.http1.client.fetch import AnswerTooLarge, fetch
from passway.http1.client.pool import Http1Client

if TYPE_CHECKING:
    from passway.core.provider import Provider
    from passway.proxy.resolve import ProxyTarget
    from passway.records import Connection

# A token is not used in its last minute: the call could reach the provider after it expired.
EXPIRY_MARGIN = 60.0


@dataclass(frozen=True, slots=True)
class _Held:
    token: str
    until: float | None  # monotonic time, or None: until the provider refuses it


class TokenSteps:
    def __init__(
        self,
        http: Http1Client,
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._timeout = timeout
        self._clock = clock
        self._held: dict[tuple[str, int], _Held] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def with_token(self, target: ProxyTarget) -> ProxyTarget:
        """``target`` with its credentials placed using the connection's current token."""
        token = await self.token(target.provider, target.connection)
        placement = place_credentials(
            target.provider, target.connection, {token_step.TOKEN_VARIABLE: token}
        )
        return replace(target, credentials=placement)

    async def token(self, provider: Provider, connection: Connection) -> str:
        key = (connection.id, connection.version)
        held = self._usable(key)
        if held is not None:
            return held
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            held = self._usable(key)
            if held is not None:
                return held
            step = await self._obtain(provider, connection)
            until = None
            if step.expires_in is not None:
                until = self._clock() + max(step.expires_in - EXPIRY_MARGIN, 0.0)
            self._forget_older(connection.id)
            self._held[key] = _Held(step.token, until)
            return step.token

    def refused(self, connection: Connection) -> None:
        """The provider answered 401: the next call gets a new token."""
        self._held.pop((connection.id, connection.version), None)

    def _usable(self, key: tuple[str, int]) -> str | None:
        held = self._held.get(key)
        if held is None or (held.until is not None and self._clock() >= held.until):
            return None
        return held.token

    def _forget_older(self, connection_id: str) -> None:
        for key in [k for k in self._held if k[0] == connection_id]:
            del self._held[key]
        for key in [
            k for k in self._locks if k[0] == connection_id and not self._locks[k].locked()
        ]:
            del self._locks[key]

    async def _obtain(self, provider: Provider, connection: Connection) -> token_step.StepToken:
        spec = provider.token_request
        if spec is None:
            raise TokenEndpointError(f"Provider {provider.name} has no token request.")
        request = token_step.prepare(
            spec, connection.credentials.custom, connection_template_values(provider, connection)
        )
        try:
            answer = await fetch(
                self._http,
                "POST",
                request.url,
                list(request.headers.items()),
                request.body,
                timeout=self._timeout,
            )
        except TimeoutError:
            raise UpstreamTimeout("The token endpoint did not answer in time") from None
        except PasswayError:
            raise
        except (OSError, AnswerTooLarge) as exc:
            denied = egress_denial(exc)
            if denied is not None:
                raise denied from None
            raise TokenEndpointError(
                f"The token endpoint could not be reached ({type(exc).__name__})"
            ) from None
        return token_step.read_answer(spec, answer.status, answer.body)
