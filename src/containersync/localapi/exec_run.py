"""Run one command "inside" a local container: materialise, isolate, run, record the diff.

``run_in_container(files, command, record_bytes=..., note=...)`` is the whole of
``containersync local exec`` once the transport (``SandboxFiles``) is chosen:

1. read the container (expired/unknown -> ``ContainerGone``, nothing runs);
2. write its current files into a private temporary tree (``exec_tree.materialise``);
3. make a memory cgroup for its ``memory_limit`` (``exec_limits``) and start the isolation
   trampoline (``python -m containersync.localapi.isolation``) with the command; the command
   inherits our stdin/stdout/stderr;
4. after it exits, record the diff: created/changed files become new ``assistant`` objects,
   deleted files lose every object at their path; unchanged files are not touched.

Invariants:
- The command's exit status is returned unchanged (a death by signal N becomes 128+N, as a
  shell reports it). If the results cannot all be recorded, the return is 1 when the
  command itself succeeded, so a caller never mistakes a lost result for success.
- Our own notes go through ``note`` (stderr, prefixed); the command's output is never
  captured or altered.
- The command gets a minimal environment (``sandbox_environ``): only the names a command
  needs to run (PATH, HOME, locale, terminal, ...), never ours: no API key, token, password
  or credential the user's shell holds reaches code a model wrote.
- The temporary tree and the cgroup are removed whatever happens; Ctrl-C reaches the
  command (same process group), SIGTERM/SIGHUP are passed on to it, and we still record
  what it left.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from containersync import errors
from containersync.localapi.exec_limits import MemoryCgroup, memory_limit_bytes
from containersync.localapi.exec_tree import TreeChanges, diff_tree, materialise
from containersync.localapi.sandbox import SandboxFiles, describe_policy

Note = Callable[[str], None]

#: the only variables passed on: what a command needs to run, none of them a credential.
#: PYTHONPATH lets the isolation trampoline import containersync from a source tree.
KEPT_VARIABLES = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE",
                            "TZ", "TERM", "COLORTERM", "NO_COLOR", "TMPDIR", "PYTHONPATH"})
_LOCALE = re.compile(r"^LC_[A-Z_]+$")
#: refused even if kept above (a defence against the list growing carelessly)
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|CRED|AUTH|^OPENAI", re.IGNORECASE)


def sandbox_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the assistant's command runs with (see the module invariants)."""
    return {k: v for k, v in environ.items()
            if (k in KEPT_VARIABLES or _LOCALE.match(k)) and not _SECRET_NAME.search(k)}


def trampoline_argv(tree: Path, command: Sequence[str], *, memory: int,
                    cgroup: Path | None, no_network: bool) -> list[str]:
    argv = [sys.executable, "-m", "containersync.localapi.isolation", "--tree", str(tree),
            "--memory", str(memory)]
    if cgroup is not None:
        argv += ["--cgroup", str(cgroup)]
    if no_network:
        argv.append("--no-network")
    return [*argv, "--", *command]


def run_in_container(files: SandboxFiles, command: Sequence[str], *, record_bytes: bool,
                     note: Note, summary: Note | None = None) -> int:
    """Run ``command`` in the container behind ``files``; return its exit status.

    Raises ``ContainerGone`` (or another ``RemoteError``) only before the command ran.
    """
    container = files.container()
    objects = files.list_files()
    policy = describe_policy(container)
    if policy == "allowlist":
        note("network_policy allowlist cannot be enforced locally: the command has full network")
    limit_text = str(container.get("memory_limit") or "1g")
    with tempfile.TemporaryDirectory(prefix="containersync-exec-") as tmp:
        tree = Path(tmp) / "work"
        tree.mkdir(mode=0o700)
        before, skipped = materialise(tree, objects, files.fetch,
                                      tolerate=(errors.RemoteFileGone,))
        for line in skipped:
            note(line)
        code = _run_limited(tree, command, limit_text, policy == "disabled", note)
        changes = diff_tree(tree, before)
        for line in changes.skipped:
            note(line)
        try:
            failures = _record(files, tree, changes, record_bytes, note)
        except errors.ContainerGone as exc:
            note(f"{exc} while the command ran: its changes were not recorded")
            failures = 1
        if summary is not None:
            summary(f"exit {code}; {len(changes.written)} file(s) written, "
                    f"{len(changes.deleted)} deleted, {failures} not recorded")
    if failures and code == 0:
        return 1
    return code


def _record(files: SandboxFiles, tree: Path, changes: TreeChanges, record_bytes: bool,
            note: Note) -> int:
    """Write the diff back; returns how many changes failed (``ContainerGone`` propagates)."""
    failures = 0
    for path in changes.written:
        try:
            files.add_file(path, tree / path[1:], record_bytes=record_bytes)
        except errors.ContainerGone:
            raise
        except errors.ContainerSyncError as exc:
            failures += 1
            note(f"could not record {path}: {exc}")
    for gone in changes.deleted:
        for file_id in gone.object_ids:
            try:
                files.delete_file(file_id)
            except errors.ContainerGone:
                raise
            except errors.ContainerSyncError as exc:
                failures += 1
                note(f"could not delete {gone.path} ({file_id}): {exc}")
    return failures


@contextlib.contextmanager
def _signals_handled(children: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Survive the signals that end the command, so its results are still recorded.

    Ctrl-C already reaches the command (same process group): we only ignore it, with a
    no-op handler rather than SIG_IGN (which the command would inherit). SIGTERM and SIGHUP
    are passed on to the command.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, frame: object) -> None:
        for child in children:  # empty until started: then the command never ran
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    handlers = {signal.SIGINT: lambda signum, frame: None, signal.SIGTERM: forward,
                signal.SIGHUP: forward}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_limited(tree: Path, command: Sequence[str], limit_text: str, no_network: bool,
                 note: Note) -> int:
    limit = memory_limit_bytes(limit_text)
    made = MemoryCgroup.create(limit)
    group = made if isinstance(made, MemoryCgroup) else None
    if group is None:
        note(f"no memory cgroup ({made})")
    argv = trampoline_argv(tree, command, memory=limit, no_network=no_network,
                           cgroup=group.path if group else None)
    try:
        children: list[subprocess.Popen[bytes]] = []
        with _signals_handled(children):
            children.append(subprocess.Popen(argv, env=sandbox_environ(os.environ)))
            returncode = children[0].wait()
    finally:
        if group is not None:
            killed = group.oom_kills()
            problem = group.remove()
            if problem:
                note(problem)
            if killed:
                note(f"the command was killed by the OOM killer "
                     f"(memory_limit {limit_text} = {limit} bytes)")
    return 128 - returncode if returncode < 0 else returncode
