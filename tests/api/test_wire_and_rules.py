"""Pure rules of the HTTP boundary: wire parsing, the retry decision, error translation.

No server is needed: the inputs are real ``httpx.Response`` objects built in the test.
"""

from __future__ import annotations

import email.utils
import json
import random
from typing import Any

import httpx
import pytest

from containersync.api.errors import translate
from containersync.api.retry import RetryPolicy, is_retryable, server_wait_hint
from containersync.api.wire import Container, ContainerFile, ContainerSpec, PageOf, parse
from containersync.errors import (
    AuthError,
    ContainerExpired,
    ContainerNotFound,
    RateLimited,
    Rejected,
    RemoteFileGone,
    TransientError,
)


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None,
           path: str = "/v1/containers/cntr_1/files") -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content, headers=headers,
                          request=httpx.Request("GET", "http://h" + path))


def error_body(message: str, *, param: str | None = None, code: str | None = None) -> Any:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": code}}


def test_quirky_bodies_parse_and_keep_unknown_fields() -> None:
    page = parse(PageOf(ContainerFile), json.dumps({
        "object": "list", "first_id": None, "last_id": None, "has_more": False, "data": [],
    }).encode(), what="t")
    assert page.data == [] and page.first_id is None

    obj = parse(ContainerFile, json.dumps({
        "id": "cfile_1", "object": "container.file", "container_id": "cntr_1",
        "created_at": 5, "bytes": None, "path": "/mnt/data/chart.png", "source": "assistant",
        "brand_new_field": {"x": 1},
    }).encode(), what="t")
    assert obj.bytes is None
    assert obj.extra == {"brand_new_field": {"x": 1}}

    box = parse(Container, json.dumps({
        "id": "cntr_1", "object": "container", "name": "n", "created_at": 1,
        "status": "initializing", "expires_after": {"minutes": 20},
    }).encode(), what="t")
    assert box.status == "initializing"
    assert box.expires_after is not None and box.expires_after.anchor is None


def test_malformed_body_is_rejected_not_a_pydantic_error() -> None:
    with pytest.raises(Rejected, match="created_at"):
        # a missing field is allowed (live objects may lack any but id); a wrong type is not
        parse(Container, b'{"id": "cntr_1", "name": "n", "created_at": "yesterday"}',
              what="GET x")


def test_spec_body_omits_unset_fields() -> None:
    assert ContainerSpec(name="a").create_body() == {"name": "a"}
    assert ContainerSpec(name="a", expires_after_minutes=5, memory_limit="4g",
                         network_policy={"type": "disabled"},
                         file_ids=("file-1",)).create_body() == {
        "name": "a", "expires_after": {"anchor": "last_active_at", "minutes": 5},
        "memory_limit": "4g", "network_policy": {"type": "disabled"},
        "file_ids": ["file-1"]}


def test_server_wait_hints() -> None:
    both = httpx.Headers({"retry-after-ms": "250", "retry-after": "7"})
    assert server_wait_hint(both) == 0.25
    assert server_wait_hint(httpx.Headers({"retry-after": "7"})) == 7.0
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert server_wait_hint(httpx.Headers({"retry-after": date}), now=lambda: 1_000_000) == 30
    assert server_wait_hint(httpx.Headers({"retry-after": "soon"})) is None
    assert server_wait_hint(httpx.Headers()) is None


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(max_retries=20, rng=random.Random(7))
    delays = [policy.backoff(n) for n in range(10)]
    for n, delay in enumerate(delays):
        ceiling = min(0.5 * 2**n, 8.0)
        assert 0.75 * ceiling <= delay <= ceiling
    assert policy.next_delay(20, answer(503)) is None  # budget spent


def test_long_server_hint_ends_retries_and_is_carried() -> None:
    slow = answer(429, error_body("slow down"), {"retry-after": "120"})
    assert RetryPolicy().next_delay(0, slow) is None
    error = translate(slow)
    assert isinstance(error, RateLimited) and error.retry_after == 120


def test_retryable_failures() -> None:
    request = httpx.Request("GET", "http://h/v1/containers")
    assert is_retryable(httpx.ReadTimeout("t", request=request))
    assert is_retryable(httpx.ConnectError("c", request=request))
    assert is_retryable(httpx.RemoteProtocolError("r", request=request))
    assert not is_retryable(httpx.UnsupportedProtocol("u", request=request))
    assert [is_retryable(answer(s)) for s in (400, 404, 408, 409, 429, 500, 503)] == [
        False, False, True, True, True, True, True]


@pytest.mark.parametrize(("status", "body", "file_route", "expected"), [
    (401, error_body("Incorrect API key provided."), False, AuthError),
    (403, error_body("forbidden"), False, AuthError),
    (404, error_body("Container is expired."), True, ContainerExpired),
    (404, error_body("Container with id 'cntr_1' not found."), True, ContainerNotFound),
    (404, error_body("Container with id 'cntr_1' not found."), False, ContainerNotFound),
    (404, error_body("No such file."), True, RemoteFileGone),
    (404, error_body("Not Found"), False, Rejected),  # a wrong base URL is not "gone"
    (429, error_body("slow down"), False, RateLimited),
    (408, None, False, TransientError),
    (409, error_body("busy"), False, TransientError),
    (500, None, False, TransientError),
    (400, error_body("bad", param="limit", code="integer_above_max_value"), False, Rejected),
    (422, error_body("bad"), False, Rejected),
])
def test_translate_table(status: int, body: Any, file_route: bool,
                         expected: type[Exception]) -> None:
    error = translate(answer(status, body), file_route=file_route, container_id="cntr_1")
    assert type(error) is expected
    assert error.status == status
    if isinstance(error, ContainerNotFound | ContainerExpired):
        assert error.container_id == "cntr_1"
    if status == 400:
        assert (error.param, error.code) == ("limit", "integer_above_max_value")


def test_translate_scrubs_an_echoed_key() -> None:
    echoed = answer(401, error_body("Incorrect API key provided: sk-secret-123."))
    error = translate(echoed, redact=("sk-secret-123",))
    assert "sk-secret-123" not in str(error)
    assert "[redacted]" in str(error)


@pytest.mark.parametrize("quoted", [
    "tok\\ten",            # repr / JSON escaping of a tab
    "caf\\u00e9-tok",      # JSON with ensure_ascii
    "a%2Fb%20c",            # percent-encoded
])
def test_translate_scrubs_a_secret_quoted_back_escaped(quoted: str) -> None:
    secret = {"tok\\ten": "tok\ten", "caf\\u00e9-tok": "caf\u00e9-tok",
              "a%2Fb%20c": "a/b c"}[quoted]
    echoed = answer(400, error_body(f"Invalid value for 'x': '{quoted}'."))
    error = translate(echoed, redact=(secret,))
    assert quoted not in str(error) and "[redacted]" in str(error)


def test_translate_html_error_page() -> None:
    page = httpx.Response(502, content=b"<html>Bad gateway</html>",
                          request=httpx.Request("POST", "http://h/v1/containers"))
    error = translate(page)
    assert isinstance(error, TransientError)
    assert "POST /v1/containers: HTTP 502" in str(error)
