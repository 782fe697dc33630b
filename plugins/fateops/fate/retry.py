"""When to retry a FATE Flow call — one policy for the sync and the async client.

Transient means "the server was not there or could not answer": connection refused/reset, timeouts,
HTTP 5xx (and 429). What may be retried depends on whether the request can have had an effect:

* the request never left (connect error/timeout, no pooled connection): always safe to retry;
* the server refused it unprocessed (429 Too Many Requests): retried, honouring ``Retry-After``;
* it may have reached the server (read/write errors and timeouts, 5xx): retried only for idempotent
  calls. A submit, upload, stop, rerun or delete that ends like that is *not* retried: the caller gets
  :class:`FateFlowUnavailable` saying the outcome is unknown, so nothing runs twice behind its back.

The policy decides and logs; the clients only sleep (``time.sleep`` or ``asyncio.sleep``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from fateops.exceptions import FateFlowError, FateFlowUnavailable

__all__ = ["NOT_SENT_ERRORS", "RetryPolicy"]

log = logging.getLogger(__name__)

#: Transport errors raised before any byte of the request reached the server.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (httpx.ConnectError, httpx.ConnectTimeout,
                                                           httpx.PoolTimeout)

#: Transport errors that are a client/config problem — repeating them cannot help.
_NEVER_TRANSIENT: tuple[type[httpx.TransportError], ...] = (httpx.UnsupportedProtocol, httpx.LocalProtocolError,
                                                            httpx.ProxyError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter: ``min(max_delay, base_delay * 2**(n-1)) * (1 ± jitter)``.

    ``max_attempts`` counts the first try; ``max_attempts=1`` disables retries. With the defaults a
    call gives up after 5 tries spread over ≈ 15 s — long enough to ride out a FATE Flow restart
    (ready in ≈ 2 s), short enough that a dead server is reported promptly.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 8.0
    jitter: float = 0.25
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    max_retry_after: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter < 1:
            raise ValueError("RetryPolicy: max_attempts >= 1, delays >= 0, 0 <= jitter < 1")

    def backoff(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1``."""
        raw = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return max(0.0, raw * (1 + random.uniform(-self.jitter, self.jitter)))

    def after_error(self, error: httpx.TransportError, *, attempt: int, endpoint: str, idempotent: bool) -> float:
        """Seconds to wait before retrying a call that raised ``error``; raises when it must not retry."""
        not_sent = isinstance(error, NOT_SENT_ERRORS)
        cause = f"{type(error).__name__}: {error}".rstrip(": ")
        if isinstance(error, _NEVER_TRANSIENT):
            raise FateFlowError(cause, endpoint=endpoint, fix="check the FATE Flow URL (scheme, proxy settings)") \
                from error
        if not (not_sent or idempotent):
            raise FateFlowUnavailable(
                f"{cause} — the request may have reached FATE Flow, so it was not repeated",
                endpoint=endpoint,
                fix="check whether it took effect (e.g. `list_jobs`) before repeating it; then check the engine",
            ) from error
        return self._next(attempt, endpoint, cause, None, error)

    def after_response(self, response: httpx.Response, *, attempt: int, endpoint: str,
                       idempotent: bool) -> float | None:
        """``None`` when the response is final; else seconds to wait before retrying (5xx/429)."""
        if response.status_code not in self.retry_statuses:
            return None
        cause = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
        # 429 means "refused, not processed": safe to repeat even for a submit.
        if not idempotent and response.status_code != 429:
            raise FateFlowUnavailable(
                f"{cause} — the request may have been processed, so it was not repeated", endpoint=endpoint,
                fix="check whether it took effect (e.g. `list_jobs`) before repeating it; then check the engine",
            )
        return self._next(attempt, endpoint, cause, _retry_after(response, self.max_retry_after), None)

    def _next(self, attempt: int, endpoint: str, cause: str, retry_after: float | None,
              error: BaseException | None) -> float:
        if attempt >= self.max_attempts:
            raise FateFlowUnavailable(f"{cause} (gave up after {attempt} attempt(s))", endpoint=endpoint) from error
        delay = retry_after if retry_after is not None else self.backoff(attempt)
        log.warning("FATE Flow %s: %s; retry %d/%d in %.1f s", endpoint, cause, attempt, self.max_attempts - 1,
                    delay)
        return delay


def _retry_after(response: httpx.Response, ceiling: float) -> float | None:
    """Honour ``Retry-After`` (seconds or an HTTP date), capped so a server cannot park us forever."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), ceiling)
