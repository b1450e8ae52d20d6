"""``ContainersClient``: the only code in containersync that speaks HTTP to the Containers API.

Responsibilities and invariants:
- Every request goes through ``_call``: one attempt, then the retry policy of
  ``api.retry`` (408/409/429/5xx, timeouts, network errors; server hints honoured; capped
  jittered backoff; the injected ``sleep`` does the waiting), then ``api.errors.translate``
  once the failure is final. ``requests_made`` counts every request actually sent,
  retries included, under a lock.
- Non-idempotent calls are never blindly repeated: after a failure the server may have
  acted on, ``create_container`` and ``upload_file`` look for the object the attempt may
  have made and adopt it (rules in ``api.recover``).
- Bodies are streamed both ways: uploads hand httpx an open file (httpx reads it in 64 KiB
  chunks and sends a Content-Length from ``fstat``), downloads are written to ``dest`` chunk
  by chunk while hashed; a retried download starts over by truncating ``dest``.
- Safe to use from many threads at once over one connection pool; the pool is bounded by
  ``max_connections``.
- The API key lives only in the httpx client's headers: it never appears in ``repr`` or in
  an error message.
"""

from __future__ import annotations

import hashlib
import io
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, BinaryIO, Protocol, TypeVar
from urllib.parse import quote

import httpx

from containersync import __version__
from containersync.api import recover
from containersync.api.counting import note_request
from containersync.api.deliver import deliver
from containersync.api.errors import translate
from containersync.api.pacing import Pacer
from containersync.api.pool import TransferPool
from containersync.api.retry import (
    Failure,
    RetryPolicy,
    is_pushback,
    may_have_been_processed,
    server_wait_hint,
)
from containersync.api.transport import PerThreadTransport, http_transport, proxy_mounts
from containersync.api.wire import (
    Container,
    ContainerFile,
    ContainerSpec,
    Decoder,
    Deleted,
    Identified,
    Page,
    PageOf,
    parse,
)
from containersync.errors import LocalError, Rejected, RemoteError, RemoteFileGone

T = TypeVar("T")
M = TypeVar("M")
ItemT = TypeVar("ItemT", bound=Identified)
CHUNK = 1024 * 1024
_CONTAINERS = PageOf(Container)
_FILES = PageOf(ContainerFile)


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int | None: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def truncate(self, size: int | None = None, /) -> int: ...


class _HashOnly:
    """A sink that keeps nothing: used to fingerprint a remote object."""

    def write(self, data: bytes, /) -> int:
        return len(data)

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return 0

    def truncate(self, size: int | None = None, /) -> int:
        return 0


@dataclass(frozen=True)
class Sent:
    """An upload that landed, and what it sent: ``sha256`` of the bytes read from the file
    (None when an earlier attempt's object was adopted and which content it holds is not
    known), ``size`` and ``mtime_ns`` of the file as it was read, and ``stable``: the file's
    size and mtime did not change while it was read and every byte was read once."""

    obj: ContainerFile
    sha256: str | None
    size: int
    mtime_ns: int
    stable: bool


class _Counting(io.BufferedReader):
    """A file opened for reading that hashes and counts what each read returns and says so
    (httpx reads an upload in chunks as it sends them, so this is the upload's progress).
    The digest is the one of the bytes sent: no second pass over the file."""

    def __init__(self, path: Path, on_read: Callable[[int], None] | None,
                 opener: Callable[[], int] | None = None) -> None:
        super().__init__(io.FileIO(path if opener is None else opener(), "rb"))
        self._on_read = on_read
        self.before = os.fstat(self.fileno())
        self.after: os.stat_result | None = None  # at end of file
        self.hash = hashlib.sha256()
        self.count = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        if data:
            self.hash.update(data)
            self.count += len(data)
            if self._on_read is not None:
                self._on_read(len(data))
        elif self.after is None:
            self.after = os.fstat(self.fileno())
        return data

    @property
    def stable(self) -> bool:
        """Read to the end, exactly the size it had, and neither size nor mtime moved."""
        a, b = self.before, self.after
        return (b is not None and a.st_size == b.st_size == self.count
                and a.st_mtime_ns == b.st_mtime_ns)


def _size_of(opener: Callable[[], int]) -> int:
    fd = opener()
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


class ContainersClient:
    """Typed, retrying, streaming access to the Containers API."""

    def __init__(self, http: httpx.Client, *, max_retries: int = 4, backoff_base: float = 0.5,
                 backoff_cap: float = 8.0, sleep: Callable[[float], None] = time.sleep,
                 concurrency: int = 8) -> None:
        self._http = http
        #: the transfer window of every executor using this client (``api.pacing``)
        self.pacer = Pacer(concurrency, start=min(8, concurrency))
        #: the threads of every executor's transfers and every segmented listing's walks
        self.pool = TransferPool(concurrency)
        self._policy = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base,
                                   backoff_cap=backoff_cap)
        self._sleep = sleep
        self._lock = threading.Lock()
        self._requests = 0
        self._handed_out: dict[str, set[str]] = {}
        auth = http.headers.get("authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else auth
        self._secrets: tuple[str, ...] = tuple(s for s in (auth, token) if s)

    @classmethod
    def connect(cls, base_url: str, api_key: str | None, *, timeout: float = 60.0,
                max_connections: int = 8, extra_headers: Mapping[str, str] | None = None,
                **kw: Any) -> ContainersClient:
        """A client with its own bounded connection pool, authenticated with ``api_key``;
        ``extra_headers`` (``OpenAI-Organization``, ``OpenAI-Project``) go on every request."""
        headers = {"User-Agent": f"containersync/{__version__}", **(extra_headers or {})}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # a pool per sending thread (``api.transport``): the threads that send are the
        # client's ``max_connections`` transfer threads and their callers; a client given a
        # transport reads no proxy from the environment, so they are mounted here
        context = tls_for(base_url)
        http = httpx.Client(
            base_url=base_url.rstrip("/") + "/", headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=PerThreadTransport(http_transport(context)),
            mounts=proxy_mounts(context))
        return cls(http, concurrency=max_connections, **kw)

    def __repr__(self) -> str:
        return f"ContainersClient(base_url={str(self._http.base_url)!r})"

    @property
    def requests_made(self) -> int:
        with self._lock:
            return self._requests

    def close(self) -> None:
        """Close the connection pool (the client owns the httpx client it was given) and
        retire the transfer threads."""
        self.pool.close()
        self._http.close()

    def __enter__(self) -> ContainersClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- the one request loop -------------------------------------------------------------

    def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        self.pacer.wait_turn(self._sleep)
        with self._lock:
            self._requests += 1
        note_request()  # for the cycle (or other work) it is sent for (``api.counting``)
        return deliver(self._http, request, stream=stream)

    def _call(self, make: Callable[[], httpx.Request], read: Callable[[httpx.Response], T], *,
              stream: bool = False, file_route: bool = False, container_id: str | None = None,
              recover_with: Callable[[], T | None] | None = None,
              redact: tuple[str, ...] = ()) -> T:
        """Send, retry per policy, and return ``read(response)`` of the first success;
        ``redact``: secrets the request carries, scrubbed from any error (besides the key)."""
        attempt = 0
        while True:
            failure: Failure
            try:
                response = self._send(make(), stream=stream)
                try:
                    if response.is_success:
                        return read(response)
                    response.read()
                finally:
                    _release(response)
                failure = response
            except httpx.HTTPError as exc:
                failure = exc
            if recover_with is not None and may_have_been_processed(failure):
                found = recover_with()
                if found is not None:
                    return found
            delay = self._policy.next_delay(attempt, failure)
            if is_pushback(failure):
                # the server's own wait (when honoured) holds every thread back; a backoff
                # of ours is this request's business only
                hinted = server_wait_hint(failure.headers) is not None  # type: ignore[union-attr]
                self.pacer.pushback(delay if hinted else None)
            if delay is None:
                error = translate(failure, file_route=file_route, container_id=container_id,
                                  redact=self._secrets + redact)
                if isinstance(failure, httpx.HTTPError):
                    raise error from failure
                raise error
            self._sleep(delay)
            attempt += 1

    def _json(self, method: str, url: str, model: Decoder[M], *, json: Any = None,
              params: dict[str, Any] | None = None, file_route: bool = False,
              container_id: str | None = None,
              recover_with: Callable[[], M | None] | None = None,
              redact: tuple[str, ...] = ()) -> M:
        def make() -> httpx.Request:
            return self._http.build_request(method, url, json=json, params=params)

        def read(response: httpx.Response) -> M:
            return parse(model, response.content, what=f"{method} {url}")

        return self._call(make, read, file_route=file_route, container_id=container_id,
                          recover_with=recover_with, redact=redact)

    def _pages(self, url: str, model: PageOf[ItemT], params: dict[str, Any],
               after: str | None, container_id: str | None = None) -> Iterator[ItemT]:
        """Lazily walk a cursor list: ``after`` = last id, stop on ``has_more`` false or empty.
        A cursor object deleted between two pages does not end the walk (``_next_page``);
        the ``after`` the caller gives must exist (its error is the caller's to read)."""
        before: list[ItemT] = []  # the page the next cursor came from
        while True:
            page, skip = self._next_page(url, model, params, after, before, container_id)
            if before:
                _check_moved_on(page, skip, before, after, url)
            yield from (item for item in page.data if item.id not in skip)
            if not page.has_more or not page.data:
                return
            after, before = page.data[-1].id, page.data

    def _next_page(self, url: str, model: PageOf[ItemT], params: dict[str, Any],
                   after: str | None, before: list[ItemT],
                   container_id: str | None) -> tuple[Page[ItemT], frozenset[str]]:
        """The page after ``after`` (the last item of ``before``), and the ids of it already
        handed out. RACE: the cursor object may be deleted between two pages (the local
        backend then answers 400 ``invalid_cursor``). The walk goes on after an earlier
        item of ``before`` (tried newest first, at growing strides: a few requests even
        when a whole run of the page was deleted) and skips what it had handed out; when
        no item of the page is left it gives up with the server's error."""
        try:
            return self._page(url, model, params, after, container_id), frozenset()
        except RemoteError as exc:
            if not before or not cursor_gone(exc):
                raise
            gone = exc
        for back in _strides(len(before)):
            try:
                page = self._page(url, model, params, before[back].id, container_id)
            except RemoteError as exc:
                if not cursor_gone(exc):
                    raise
                continue
            return page, frozenset(item.id for item in before[back + 1:])
        raise gone

    def _page(self, url: str, model: PageOf[ItemT], params: dict[str, Any],
              after: str | None, container_id: str | None) -> Page[ItemT]:
        query = dict(params)
        if after is not None:
            query["after"] = after
        return self._json("GET", url, model, params=query, container_id=container_id,
                          file_route=container_id is not None)

    # -- containers -----------------------------------------------------------------------

    def create_container(self, spec: ContainerSpec) -> Container:
        """Create a container; an ambiguous failure never leaves two (see ``api.recover``)."""
        before = {c.id: c.created_at for c in self.list_containers(name=spec.name)}

        def look() -> Container | None:
            return recover.find_created_container(
                self.list_containers(name=spec.name), spec.name, before)

        return self._json("POST", "containers", Container, json=spec.create_body(),
                          recover_with=look, redact=spec.secret_values())

    def retrieve_container(self, cid: str) -> Container:
        return self._json("GET", f"containers/{_segment(cid)}", Container,
                          container_id=cid)

    def list_containers(self, *, name: str | None = None, order: str = "desc",
                        page_size: int = 100) -> Iterator[Container]:
        params: dict[str, Any] = {"order": order, "limit": page_size}
        if name is not None:
            params["name"] = name
        return self._pages("containers", _CONTAINERS, params, None)

    def delete_container(self, cid: str) -> None:
        self._json("DELETE", f"containers/{_segment(cid)}", Deleted, container_id=cid)

    # -- container files ------------------------------------------------------------------

    def _remember(self, cid: str, obj: ContainerFile) -> ContainerFile:
        with self._lock:
            self._handed_out.setdefault(cid, set()).add(obj.id)
        return obj

    def upload_file(self, cid: str, source: Path, *, remote_path: str | None = None,
                    filename: str | None = None, expect_sha256: str | None = None,
                    on_sent: Callable[[int], None] | None = None) -> ContainerFile:
        """``send_file``'s object."""
        return self.send_file(cid, source, remote_path=remote_path, filename=filename,
                              expect_sha256=expect_sha256, on_sent=on_sent).obj

    def send_file(self, cid: str, source: Path, *, remote_path: str | None = None,
                  filename: str | None = None, expect_sha256: str | None = None,
                  on_sent: Callable[[int], None] | None = None,
                  opener: Callable[[], int] | None = None) -> Sent:
        """Stream ``source`` into the container; sends ``path`` when ``remote_path`` is set.
        The file is read once: the digest of what was sent comes from the same read.
        ``opener``: opens the file (a descriptor) for each attempt instead of ``source``'s
        path (the executor's follows no link).

        ``expect_sha256``: the digest the caller read when it decided to upload; after an
        ambiguous failure an object with it, or with the digest of what a failed attempt
        read to the end, is adopted as this upload's even when the file changed since
        (``api.recover``). ``on_sent(n)`` is called as each chunk is sent (again from the
        start on a retry)."""
        name = filename or (PurePosixPath(remote_path).name if remote_path else source.name)
        try:
            size = source.stat().st_size if opener is None else _size_of(opener)
        except OSError as exc:
            raise LocalError(f"cannot read {source}: {exc.strerror}") from exc
        url = f"containers/{_segment(cid)}/files"
        opened: list[_Counting] = []
        #: what earlier attempts read whole (what the server may hold), by digest:
        #: (stable, size, mtime_ns) of the file as that attempt read it
        attempted: dict[str, tuple[bool, int, int]] = {}

        def note(fh: _Counting) -> None:
            if fh.after is not None:
                attempted[fh.hash.hexdigest()] = (fh.stable, fh.count, fh.before.st_mtime_ns)

        def make() -> httpx.Request:
            for fh in opened:
                note(fh)
                fh.close()
            opened.clear()
            try:
                fh = _Counting(source, on_sent, opener)
            except OSError as exc:
                raise LocalError(f"cannot read {source}: {exc.strerror}") from exc
            opened.append(fh)
            data = {"path": remote_path} if remote_path is not None else None
            return self._http.build_request(
                "POST", url, data=data,
                files={"file": (name, fh, "application/octet-stream")})

        def read(response: httpx.Response) -> ContainerFile:
            return parse(ContainerFile, response.content, what=f"POST {url}")

        remote: dict[str, str] = {}  # digests of objects recovery looked at

        def remote_sha256(fid: str) -> str:
            remote[fid] = self.file_sha256(cid, fid)
            return remote[fid]

        def sent_sha256() -> frozenset[str]:
            for fh in opened:
                note(fh)
            return recover.sent_digests(source, expect_sha256) | attempted.keys()

        def look() -> ContainerFile | None:
            with self._lock:
                known = frozenset(self._handed_out.get(cid, ()))
            return recover.find_uploaded_file(
                self.list_files(cid), size=size, filename=name, remote_path=remote_path,
                sent_sha256=sent_sha256, remote_sha256=remote_sha256, known_ids=known)

        try:
            obj = self._call(make, read, file_route=True, container_id=cid, recover_with=look)
            last = opened[-1]
            if obj.id in remote:  # adopted: its content is what recovery hashed
                sha: str | None = remote[obj.id]
                stable, nbytes, mtime = attempted.get(remote[obj.id], (False, size, -1))
            else:
                sha = last.hash.hexdigest() if last.after is not None else None
                stable, nbytes, mtime = last.stable, last.count, last.before.st_mtime_ns
            sent = Sent(self._remember(cid, obj), sha, nbytes, mtime, stable)
        finally:
            for fh in opened:
                fh.close()
        return sent

    def copy_file(self, cid: str, file_id: str) -> ContainerFile:
        """Copy a Files API object (``file-...``) into the container."""
        obj = self._json("POST", f"containers/{_segment(cid)}/files", ContainerFile,
                         json={"file_id": file_id}, file_route=True, container_id=cid)
        return self._remember(cid, obj)

    def list_files(self, cid: str, *, order: str = "desc", page_size: int = 100,
                   after: str | None = None) -> Iterator[ContainerFile]:
        params: dict[str, Any] = {"order": order, "limit": page_size}
        return self._pages(f"containers/{_segment(cid)}/files", _FILES, params, after,
                           container_id=cid)

    def retrieve_file(self, cid: str, fid: str) -> ContainerFile:
        return self._json("GET", f"containers/{_segment(cid)}/files/{_segment(fid)}",
                          ContainerFile, file_route=True, container_id=cid)

    def delete_file(self, cid: str, fid: str) -> None:
        self._json("DELETE", f"containers/{_segment(cid)}/files/{_segment(fid)}", Deleted,
                   file_route=True, container_id=cid)

    def file_sha256(self, cid: str, fid: str) -> str:
        """The sha256 of a container file's content, streamed and kept nowhere."""
        return self._download(cid, fid, _HashOnly())[1]

    def download_file(self, cid: str, fid: str, dest: BinaryIO, *,
                      on_received: Callable[[int], None] | None = None) -> tuple[int, str]:
        """Stream the content into ``dest``; returns (bytes written, sha256 hex).
        ``on_received(n)`` is called as each chunk is written."""
        return self._download(cid, fid, dest, on_received)

    def _download(self, cid: str, fid: str, dest: _Sink,
                  on_received: Callable[[int], None] | None = None) -> tuple[int, str]:
        url = f"containers/{_segment(cid)}/files/{_segment(fid)}/content"

        def make() -> httpx.Request:
            return self._http.build_request("GET", url)

        def read(response: httpx.Response) -> tuple[int, str]:
            digest = hashlib.sha256()
            written = 0
            try:
                dest.seek(0)
                dest.truncate()
                for chunk in response.iter_bytes(CHUNK):
                    dest.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    if on_received is not None:
                        on_received(len(chunk))
            except OSError as exc:
                raise LocalError(f"cannot write the download of {fid}: {exc.strerror}") from exc
            return written, digest.hexdigest()

        return self._call(make, read, stream=True, file_route=True, container_id=cid)


def _segment(value: str) -> str:
    """``value`` (an id an answer gave) as exactly one segment of a request's path: quoted
    whole, ``.`` and ``..`` too, so no id resolves against the base URL into another route
    (``../../<other container>/files/<its file>``) or ends the path (``x?y``, ``x#y``). An
    empty id names no segment at all: refused (``Rejected``) before anything is sent."""
    if not value:
        raise Rejected("an empty id names nothing to ask the server for")
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if value in (".", "..") else quoted


#: what a released answer's stream is: nothing left to read
_READ = httpx.ByteStream(b"")


def _release(response: httpx.Response) -> None:
    """Close ``response`` and cut its link to its stream, which links back to it: an answer
    is then freed as soon as its last reference goes (its body too, ~30 KB for a listing
    page), instead of waiting, with the connection's streams and the request, for the cyclic
    collector (which a full cycle keeps off while it reads: ``engine.collector``)."""
    response.close()
    response.stream = _READ


def _check_moved_on(page: Page[ItemT], skip: frozenset[str], before: list[ItemT],
                    after: str | None, url: str) -> None:
    """``Rejected`` when the page after ``after`` holds an object of the page before it
    (other than those ``skip`` names, handed out before a cursor object was deleted): a
    server that ignores the cursor while it says ``has_more`` would be walked forever."""
    seen = {item.id for item in before}
    if any(item.id in seen and item.id not in skip for item in page.data):
        raise Rejected(f"GET {url}: the server answered the page after {after!r} with "
                       "objects of the page before it (the cursor did not move); the "
                       "listing is not walked further")


def tls_for(base_url: str) -> ssl.SSLContext:
    """What the client's connections verify TLS with. An ``https`` API: the system's trust
    store (httpx's default context). A plain ``http`` one (the local backend): a context that trusts
    no certificate, so loading the CA bundle (~0.1 s of every start-up) is skipped; this
    client follows no redirect and sends every request under its base URL, so it never
    opens TLS, and if anything did the handshake would fail, never pass unverified."""
    if not base_url.lower().startswith("http://"):
        return httpx.create_ssl_context()
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, no roots


def cursor_gone(exc: RemoteError) -> bool:
    """Whether a list request failed because its ``after`` names no object of the list: the
    local backend's 400 ``invalid_cursor`` (param ``after``), or a 404 that does not name
    the container (the live service's answer is undocumented; either is taken)."""
    if isinstance(exc, RemoteFileGone):
        return True
    return isinstance(exc, Rejected) and (exc.param == "after" or exc.code == "invalid_cursor")


def _strides(size: int) -> Iterator[int]:
    """Indices into a page of ``size`` items to go on after, newest first: the one before
    the last, then 3, 5, 9, ... back, and the first item last."""
    step = 2
    while step < size:
        yield size - step
        step = 2 * step - 1
    if size >= 2:
        yield 0
