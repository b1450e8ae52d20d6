"""A small DSL for end-to-end sync scenarios (in the style of rclone bisync's ``test_*`` cases).

A scenario is: an initial local tree, a script of changes on both sides, then the expected
local tree (path -> content), the expected remote listing (path -> content, newest object
per path, read over the API) and the exit code / JSON counts of ``containersync sync``.

- ``write(root, {...})`` / ``tree(root)`` / ``mtimes(root)`` / ``dirs(root)``: the local side.
- ``remote_objects(server, cid)`` / ``remote_tree(server, cid, own=...)``: the remote side,
  over real HTTP. ``remote_tree`` groups objects by the local path each stands for, the way
  SYNC_SEMANTICS defines it (an object we uploaded by its file id, whatever path the server
  gave it; an object at the sandbox path of one of ours stands for the same path; anything
  else by stripping the remote root; the container manifest is no file), and keeps the
  newest (``created_at``, then id).
- ``assistant(server, cid, "sh script")``: the real assistant side, ``containersync local
  exec`` in a subprocess. The backend clock is moved 1 s before and after, so objects the
  assistant writes are strictly newer than ours and ours strictly newer than its (the API
  has second resolution; see the report for the same-second tie).
- ``sync(config, *flags)``: the CLI, in-process (``cli.main``, fast) or as a subprocess
  (``subprocess=True``, for exit codes as a user sees them); returns a ``SyncResult``.
- ``World``: one mapping, one served backend, one tmp dir; bundles all of the above.

Nothing here mocks our code: every call goes through the CLI, the real backend and SQLite.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import subprocess as sp
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from containersync import cli
from containersync.config import load_config, mapping_identity
from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer
from containersync.model.manifest import is_manifest_path
from support.backend import TEST_KEY, raw

MAPPING = "m"
REMOTE_ROOT = "/mnt/data"
KEY_ENV = "CONTAINERSYNC_SCENARIO_KEY"
#: run each scenario against a backend that honours ``path`` and one that assigns paths
PATH_MODES = [pytest.param(False, id="paths-honoured"), pytest.param(True, id="paths-assigned")]

Content = str | bytes | None


# -- the local side ----------------------------------------------------------------------

def write(root: Path, files: Mapping[str, Content]) -> None:
    """Create/overwrite each file (making folders); ``None`` deletes it."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)


def _walk(root: Path) -> Iterator[tuple[str, Path, bool]]:
    for folder, subdirs, names in os.walk(root):
        here = Path(folder)
        for d in subdirs:
            yield (here / d).relative_to(root).as_posix(), here / d, True
        for n in names:
            yield (here / n).relative_to(root).as_posix(), here / n, False


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def tree(root: Path) -> dict[str, str]:
    """Every regular file below ``root``: relative path -> content (links are not followed)."""
    if not root.is_dir():
        return {}
    return {rel: _text(p.read_bytes()) for rel, p, is_dir in _walk(root)
            if not is_dir and p.is_file() and not p.is_symlink()}


def mtimes(root: Path) -> dict[str, int]:
    """Relative path -> mtime_ns of every file and folder below ``root`` (and ``root`` itself)."""
    out = {".": root.stat().st_mtime_ns}
    out.update({rel: p.lstat().st_mtime_ns for rel, p, _ in _walk(root)})
    return out


def dirs(root: Path) -> set[str]:
    return {rel for rel, _, is_dir in _walk(root) if is_dir}


# -- the remote side ---------------------------------------------------------------------

def _key(api_key: str | None) -> str:
    return api_key or TEST_KEY


def remote_objects(server: RunningServer, cid: str, *,
                   api_key: str | None = None) -> list[dict[str, Any]]:
    """Every file object of the container, as the API lists it (all pages)."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    with raw(server, api_key=_key(api_key)) as client:
        while True:
            params: dict[str, Any] = {"limit": 100, "order": "asc"}
            if after:
                params["after"] = after
            response = client.get(f"/v1/containers/{cid}/files", params=params)
            response.raise_for_status()
            page = response.json()
            out += page["data"]
            if not page.get("has_more"):
                return out
            after = page["data"][-1]["id"]


def create_container(server: RunningServer, name: str, *, api_key: str | None = None,
                     **spec: Any) -> str:
    with raw(server, api_key=_key(api_key)) as client:
        response = client.post("/v1/containers", json={"name": name, **spec})
        response.raise_for_status()
        cid: str = response.json()["id"]
        return cid


def remote_content(server: RunningServer, cid: str, file_id: str, *,
                   api_key: str | None = None) -> bytes:
    with raw(server, api_key=_key(api_key)) as client:
        response = client.get(f"/v1/containers/{cid}/files/{file_id}/content")
        response.raise_for_status()
        return response.content


def remote_tree(server: RunningServer, cid: str, *, own: Mapping[str, str] | None = None,
                remote_root: str = REMOTE_ROOT, api_key: str | None = None,
                upload_paths: Mapping[str, str] | None = None) -> dict[str, str]:
    """The remote side as local paths -> content of the newest object (see module doc).
    ``own`` maps the file ids this program uploaded to their local paths;
    ``upload_paths`` the sandbox paths our uploads landed at (even if gone since)."""
    own = own or {}
    objects = remote_objects(server, cid, api_key=api_key)
    anchors = dict(upload_paths or {})
    anchors.update({o["path"]: own[o["id"]] for o in objects if o["id"] in own})
    newest: dict[str, dict[str, Any]] = {}
    prefix = remote_root.rstrip("/") + "/"
    for o in objects:
        if o["id"] not in own and is_manifest_path(o["path"], remote_root):
            continue  # the container manifest: never a user file (model.manifest)
        if o["id"] in own:
            rel = own[o["id"]]
        elif o["path"] in anchors:
            rel = anchors[o["path"]]
        elif o["path"].startswith(prefix):
            rel = o["path"][len(prefix):]
        else:
            continue  # outside the remote root: never mapped
        best = newest.get(rel)
        if best is None or (o["created_at"], o["id"]) > (best["created_at"], best["id"]):
            newest[rel] = o
    return {rel: _text(remote_content(server, cid, o["id"], api_key=api_key)) for rel, o in sorted(newest.items())}


def assistant(server: RunningServer, cid: str, script: str, *, api_key: str | None = None,
              check: bool = True) -> sp.CompletedProcess[str]:
    """Run ``sh -c script`` as the assistant inside the container (``local exec``)."""
    server.advance_clock(1)
    argv = [sys.executable, "-m", "containersync", "local", "exec", cid,
            "--base-url", server.base_url]
    if api_key:
        argv += ["--api-key", api_key]
    done = sp.run([*argv, "--", "sh", "-c", script], capture_output=True, text=True,
                  timeout=60, check=False)
    server.advance_clock(1)
    if check and done.returncode != 0:
        raise AssertionError(f"assistant script failed ({done.returncode}): {done.stderr}")
    return done


# -- the CLI -----------------------------------------------------------------------------

@dataclass
class SyncResult:
    code: int
    out: str
    err: str
    json: dict[str, Any] = field(default_factory=dict)

    @property
    def m(self) -> dict[str, Any]:
        """The first mapping's JSON result."""
        mappings: list[dict[str, Any]] = self.json["mappings"]
        return mappings[0]

    @property
    def counts(self) -> dict[str, int]:
        keys = ("uploaded", "downloaded", "deleted_remote", "deleted_local", "conflicts")
        return {k: self.m[k] for k in keys}


def counts(uploaded: int = 0, downloaded: int = 0, deleted_remote: int = 0,
           deleted_local: int = 0, conflicts: int = 0) -> dict[str, int]:
    return {"uploaded": uploaded, "downloaded": downloaded, "deleted_remote": deleted_remote,
            "deleted_local": deleted_local, "conflicts": conflicts}


def sync(config: Path, *flags: str, subprocess: bool = False, json_out: bool = True,
         env: Mapping[str, str] | None = None) -> SyncResult:
    """``containersync sync --config CONFIG [--json] FLAGS``."""
    argv = ["sync", "--config", str(config), *(["--json"] if json_out else []), *flags]
    if subprocess:
        done = sp.run([sys.executable, "-m", "containersync", *argv], capture_output=True,
                      text=True, timeout=120, check=False, env={**os.environ, **(env or {})})
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        out_buf, err_buf = io.StringIO(), io.StringIO()
        with _environ(env or {}), contextlib.redirect_stdout(out_buf), \
                contextlib.redirect_stderr(err_buf):
            code = cli.main(argv)
        out, err = out_buf.getvalue(), err_buf.getvalue()
    parsed = json.loads(out) if json_out and out.strip().startswith("{") else {}
    return SyncResult(code, out, err, parsed)


@contextlib.contextmanager
def _environ(extra: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path, *, base_url: str, state: Path, local: Path,
                 api_key_env: str = KEY_ENV, **mapping: Any) -> Path:
    """A config with one mapping named ``m``; ``mapping`` adds keys to ``[[mappings]]``."""
    lines = ["[api]", f"base_url = {_toml(base_url)}", f"api_key_env = {_toml(api_key_env)}",
             "", "[state]", f"dir = {_toml(str(state))}", "", "[[mappings]]",
             f"name = {_toml(MAPPING)}", f"local = {_toml(str(local))}"]
    lines += [f"{k} = {_toml(v)}" for k, v in mapping.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mapping_key(config: Path, name: str = MAPPING) -> str:
    """The index key (identity) of mapping ``name`` in the config file ``config``."""
    cfg = load_config(config, env={**os.environ, KEY_ENV: "unused"}).config
    return mapping_identity(cfg, cfg.mapping(name)).key


# -- one mapping, one backend --------------------------------------------------------------

@dataclass
class World:
    """A local folder mapped to a container of ``server``: everything a scenario touches."""

    server: RunningServer
    base: Path
    api_key: str | None = None
    adopted: str | None = None  # a container given by id in the config

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.configure()

    @property
    def root(self) -> Path:
        return self.base / "local"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def index_file(self) -> Path:
        return self.state / "index.sqlite3"

    @property
    def assigns_paths(self) -> bool:
        return bool(self.server.store.assign_paths)

    def configure(self, **mapping: Any) -> None:
        """(Re)write the config; ``mapping`` holds extra ``[[mappings]]`` keys."""
        write_config(self.config, base_url=self.server.base_url, state=self.state,
                     local=self.root, **mapping)

    # the CLI
    def sync(self, *flags: str, subprocess: bool = False, json_out: bool = True) -> SyncResult:
        env = {KEY_ENV: self.api_key or "sk-scenario-unused"}
        return sync(self.config, *flags, subprocess=subprocess, json_out=json_out, env=env)

    # the index, read-only
    @property
    def key(self) -> str:
        """This config's index key for the mapping (its identity, as the program derives it)."""
        return mapping_key(self.config)

    def _read_index(self) -> tuple[str | None, dict[str, str]]:
        if not self.index_file.exists():
            return None, {}
        key = self.key
        with Index.open(self.index_file) as index:
            state = index.mapping(key)
            own = dict(index.own_uploads(key))
            own.update({b.remote_id: p for p, b in index.bases(key).items() if b.remote_id})
            return (state.container_id if state else None), own

    @property
    def cid(self) -> str:
        cid, _ = self._read_index()
        cid = cid or self.adopted
        assert cid, "no container yet: run a sync first"
        return cid

    def adopt(self, **mapping: Any) -> str:
        """Create a container over the API and name it by id in the config."""
        self.adopted = create_container(self.server, "adopted", api_key=self.api_key)
        self.configure(container={"id": self.adopted}, **mapping)
        return self.adopted

    # the two sides
    def write(self, files: Mapping[str, Content]) -> None:
        write(self.root, files)

    def local(self) -> dict[str, str]:
        return tree(self.root)

    def age(self, seconds: float = 3600) -> None:
        """Date every local file ``seconds`` back: files older than the racy window
        (``model.entry.RACY_NS``), whose unchanged stat a scan trusts without reading."""
        then = time.time_ns() - int(seconds * 1e9)
        for _rel, path, is_dir in _walk(self.root):
            if not is_dir:
                os.utime(path, ns=(then, then), follow_symlinks=False)

    def remote(self) -> dict[str, str]:
        cid, own = self._read_index()
        cid = cid or self.adopted
        assert cid
        anchors: dict[str, str] = {}
        if self.index_file.exists():
            with Index.open(self.index_file) as index:
                anchors = index.upload_paths(self.key)
        return remote_tree(self.server, cid, own=own, api_key=self.api_key,
                           upload_paths=anchors)

    def objects(self) -> list[dict[str, Any]]:
        """The container's file objects, but the container manifest (``manifests()``)."""
        return [o for o in self.all_objects() if not self._is_manifest(o)]

    def manifests(self) -> list[dict[str, Any]]:
        """The container manifest's objects (``model.manifest``): never a user file."""
        return [o for o in self.all_objects() if self._is_manifest(o)]

    def all_objects(self) -> list[dict[str, Any]]:
        return remote_objects(self.server, self.cid, api_key=self.api_key)

    def _is_manifest(self, obj: Mapping[str, Any]) -> bool:
        _, own = self._read_index()
        return obj["id"] not in own and is_manifest_path(obj["path"], REMOTE_ROOT)

    def trash(self) -> dict[str, str]:
        """Relative path -> content of everything in this mapping's trash (all moves)."""
        out: dict[str, str] = {}
        for slot in sorted((self.state / "trash" / MAPPING).glob("*")):
            out.update(tree(slot))
        return out

    def sandbox_path(self, rel: str) -> str:
        """Where the assistant finds ``rel``: the sandbox path of its newest object
        (server-chosen when the backend assigns paths), else under the remote root."""
        return self._sandbox_paths([rel])[rel]

    def _sandbox_paths(self, rels: list[str]) -> dict[str, str]:
        cid, own = self._read_index()
        cid = cid or self.adopted
        objects = remote_objects(self.server, cid, api_key=self.api_key) if cid else []
        out = {}
        for rel in rels:
            mine = [o for o in objects if own.get(o["id"]) == rel]
            newest = max(mine, key=lambda o: (o["created_at"], o["id"])) if mine else None
            out[rel] = newest["path"] if newest else f"{REMOTE_ROOT}/{rel}"
        return out

    def assistant(self, script: str, *, check: bool = True) -> sp.CompletedProcess[str]:
        return assistant(self.server, self.cid, script, api_key=self.api_key, check=check)

    def assistant_changes(self, files: Mapping[str, Content]) -> None:
        """One assistant run that writes (or, for ``None``, deletes) each local path."""
        lines = []
        where = self._sandbox_paths(list(files))
        for rel, content in files.items():
            target = shlex.quote(where[rel])
            if content is None:
                lines.append(f"rm -f {target}")
                continue
            text = content.decode() if isinstance(content, bytes) else content
            lines.append(f"mkdir -p \"$(dirname {target})\" && printf %s {shlex.quote(text)}"
                         f" > {target}")
        self.assistant("set -e\n" + "\n".join(lines))
