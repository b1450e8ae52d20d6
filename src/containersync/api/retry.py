"""When to retry a failed HTTP exchange, and how long to wait first.

Responsible for the retry *decision* only; the client does the sleeping (through an
injected ``sleep``) and ``api.errors.translate`` names the error when retries run out.

Rules (the same the official SDKs follow):
- Retry 408, 409, 429 and every 5xx, and transport failures: timeouts, network errors and
  broken responses (``httpx.RemoteProtocolError``).
- A ``x-should-retry: true|false`` response header overrides the status rule either way.
- Wait what the server asks for: ``retry-after-ms`` first, then ``retry-after`` (seconds or
  an HTTP date). A hint is honoured when it is between 0 and ``max_server_wait`` seconds;
  a longer one ends the retries so the caller can reschedule (the error carries it).
- Otherwise back off ``min(base * 2**attempt, cap)`` seconds, scaled down by up to 25 %
  of jitter so that 8 threads do not retry in lockstep.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

RETRY_STATUSES = frozenset({408, 409, 429})

Failure = httpx.Response | httpx.HTTPError


def server_wait_hint(headers: httpx.Headers, *, now: Callable[[], float] = time.time,
                     ) -> float | None:
    """The wait in seconds the server asked for, or ``None`` when it asked for none."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)


def is_retryable(failure: Failure) -> bool:
    """Whether this failure is worth another attempt at all (ignoring the attempt count)."""
    if isinstance(failure, httpx.Response):
        override = failure.headers.get("x-should-retry", "").strip().lower()
        if override == "true":
            return True
        if override == "false":
            return False
        return failure.status_code in RETRY_STATUSES or failure.status_code >= 500
    return isinstance(failure, httpx.TimeoutException | httpx.NetworkError
                      | httpx.RemoteProtocolError)


#: answers that mean "too much, slow down" rather than "this request is wrong"
PUSHBACK_STATUSES = frozenset({429, 502, 503, 504, 529})


def is_pushback(failure: Failure) -> bool:
    """Whether the server asked everyone to send less (the transfer window shrinks)."""
    return isinstance(failure, httpx.Response) and failure.status_code in PUSHBACK_STATUSES


def may_have_been_processed(failure: Failure) -> bool:
    """Whether the server may have acted on the request although it did not say so.

    A request that never left (connect failures) or that the server refused before doing
    anything (408, 409, 429) is safe to repeat; a 5xx, a broken connection or a read
    timeout after the body was sent is ambiguous.
    """
    if isinstance(failure, httpx.Response):
        return failure.status_code >= 500
    return not isinstance(failure, httpx.ConnectError | httpx.ConnectTimeout
                          | httpx.PoolTimeout)


@dataclass
class RetryPolicy:
    """Decides the delay before the next attempt, or that there is none."""

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_server_wait: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """The jittered exponential delay before retry number ``attempt + 1``."""
        ceiling = min(self.backoff_base * (2.0 ** attempt), self.backoff_cap)
        return float(ceiling * (1.0 - 0.25 * self.rng.random()))

    def next_delay(self, attempt: int, failure: Failure) -> float | None:
        """Seconds to wait before retrying after ``attempt`` (0-based), or ``None`` to stop."""
        if attempt >= self.max_retries or not is_retryable(failure):
            return None
        if isinstance(failure, httpx.Response):
            hint = server_wait_hint(failure.headers)
            if hint is not None:
                return hint if hint <= self.max_server_wait else None
        return self.backoff(attempt)
