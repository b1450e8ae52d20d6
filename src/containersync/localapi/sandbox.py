"""How ``containersync local exec`` reaches a container's files: one protocol, two transports.

``SandboxFiles`` is everything the exec logic needs from the backend: the container object,
its file objects, one object's bytes, writing a file "from inside the sandbox" and deleting
an object. ``StoreSandboxFiles`` opens the data dir directly (``Store``); ``HttpSandboxFiles``
talks to a served backend (``/v1`` for reads and deletes, the admin route
``POST /_local/containers/{cid}/files`` for writes), so it works while another process -
e.g. a daemon with the backend embedded - serves the same data dir.

Invariants:
- Both implementations raise only ``containersync.errors``: ``ContainerExpired`` /
  ``ContainerNotFound`` for the container, ``RemoteFileGone`` for one object,
  ``AuthError`` / ``RemoteError`` otherwise. An expired container is reported as
  ``ContainerExpired`` by ``container()`` even though the backend answers it with 200.
- Deleting an object that is already gone is not an error (another process won the race).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from containersync import errors
from containersync.localapi import errors as api_errors
from containersync.localapi.store import Store

PAGE_LIMIT = 100


class SandboxFiles(Protocol):
    container_id: str

    def container(self) -> dict[str, Any]:
        """The container object; raises ``ContainerGone`` if expired or unknown."""

    def list_files(self) -> list[dict[str, Any]]:
        """Every file object, in any order."""

    def fetch(self, file_id: str, dest: Path) -> None:
        """Write one object's bytes into the existing file ``dest``."""

    def add_file(self, path: str, content: Path, *, record_bytes: bool) -> dict[str, Any]:
        """Record ``content`` as a file the assistant wrote at sandbox ``path``."""

    def delete_file(self, file_id: str) -> None:
        """Delete one object; a missing object is fine."""

    def close(self) -> None: ...


def _gone_if_expired(cid: str, obj: dict[str, Any]) -> dict[str, Any]:
    if obj.get("status") == "expired":
        raise errors.ContainerExpired(f"container {cid} has expired", container_id=cid)
    return obj


class StoreSandboxFiles:
    """``SandboxFiles`` on a data dir opened in this process."""

    def __init__(self, data_dir: Path, container_id: str) -> None:
        self.container_id = container_id
        self._store = Store(data_dir)

    def _call(self, op: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return op(*args, **kwargs)
        except api_errors.ContainerExpired:
            raise errors.ContainerExpired(f"container {self.container_id} has expired",
                                          container_id=self.container_id) from None
        except api_errors.ContainerNotFound:
            raise errors.ContainerNotFound(f"no container {self.container_id!r} in this data dir",
                                           container_id=self.container_id) from None
        except api_errors.NotFound as exc:
            raise errors.RemoteFileGone(exc.message, status=404) from None
        except api_errors.ApiError as exc:
            raise errors.Rejected(exc.message, status=exc.status, code=exc.code) from None

    def container(self) -> dict[str, Any]:
        obj = self._call(self._store.get_container, self.container_id, refresh=True)
        return _gone_if_expired(self.container_id, obj)

    def list_files(self) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = self._call(self._store.list_container_files,
                                                 self.container_id)
        return files

    def fetch(self, file_id: str, dest: Path) -> None:
        source = self._call(self._store.blob_path, file_id)
        try:
            with open(source, "rb") as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except FileNotFoundError:
            raise errors.RemoteFileGone(f"file {file_id} is gone", status=404) from None

    def add_file(self, path: str, content: Path, *, record_bytes: bool) -> dict[str, Any]:
        obj: dict[str, Any] = self._call(self._store.add_container_file, self.container_id,
                                         path=path, content=content, source="assistant",
                                         record_bytes=record_bytes)
        return obj

    def delete_file(self, file_id: str) -> None:
        with contextlib.suppress(errors.RemoteFileGone):
            self._call(self._store.delete_container_file, self.container_id, file_id)

    def close(self) -> None:
        self._store.close()


class HttpSandboxFiles:
    """``SandboxFiles`` over HTTP to a served local backend (``base_url`` ends in ``/v1``)."""

    def __init__(self, base_url: str, container_id: str, *, api_key: str | None = None,
                 timeout: float = 60.0) -> None:
        self.container_id = container_id
        base = base_url.rstrip("/")
        self._root = base[: -len("/v1")] if base.endswith("/v1") else base
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=base + "/", headers=headers, timeout=timeout)
        self._cpath = f"containers/{quote(container_id, safe='')}"

    def _check(self, response: httpx.Response, *, file_call: bool = True) -> httpx.Response:
        if response.is_success:
            return response
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text[:200] or response.reason_phrase
        cid, status = self.container_id, response.status_code
        if status == 404 and message == "Container is expired.":
            raise errors.ContainerExpired(f"container {cid} has expired", container_id=cid)
        if status == 404 and (message.startswith("Container with id") or not file_call):
            raise errors.ContainerNotFound(f"container {cid}: {message}", container_id=cid)
        if status == 404:
            raise errors.RemoteFileGone(message, status=status)
        if status in (401, 403):
            raise errors.AuthError(message, status=status)
        raise errors.RemoteError(f"HTTP {status}: {message}", status=status)

    def _send(self, method: str, url: str, *, file_call: bool = True, **kw: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise errors.TransientError(f"cannot reach {self._root}: {exc}") from None
        return self._check(response, file_call=file_call)

    def container(self) -> dict[str, Any]:
        obj: dict[str, Any] = self._send("GET", self._cpath, file_call=False).json()
        return _gone_if_expired(self.container_id, obj)

    def list_files(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": PAGE_LIMIT, "order": "asc"}
        while True:
            page = self._send("GET", f"{self._cpath}/files", params=params).json()
            data = page.get("data") or []
            found += data
            if not page.get("has_more") or not data:
                return found
            params["after"] = data[-1]["id"]

    def fetch(self, file_id: str, dest: Path) -> None:
        url = f"{self._cpath}/files/{quote(file_id, safe='')}/content"
        try:
            with self._http.stream("GET", url) as response:
                if not response.is_success:
                    response.read()
                    self._check(response)
                with open(dest, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
        except httpx.HTTPError as exc:
            raise errors.TransientError(f"download of {file_id} failed: {exc}") from None

    def add_file(self, path: str, content: Path, *, record_bytes: bool) -> dict[str, Any]:
        url = f"{self._root}/_local/{self._cpath}/files"
        form = {"path": path, "source": "assistant",
                "record_bytes": "true" if record_bytes else "false"}
        with open(content, "rb") as fh:
            files = {"file": (Path(path).name, fh, "application/octet-stream")}
            obj: dict[str, Any] = self._send("POST", url, data=form, files=files).json()
        return obj

    def delete_file(self, file_id: str) -> None:
        with contextlib.suppress(errors.RemoteFileGone):
            self._send("DELETE", f"{self._cpath}/files/{quote(file_id, safe='')}")

    def close(self) -> None:
        self._http.close()


def describe_policy(container: dict[str, Any]) -> str:
    """The network policy type (``disabled`` when missing, as the live default)."""
    policy = container.get("network_policy") or {}
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return policy
    return str(policy.get("type") or "disabled") if isinstance(policy, dict) else "disabled"
