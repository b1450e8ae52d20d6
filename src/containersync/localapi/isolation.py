"""The child side of ``containersync local exec``: set up isolation, then become the command.

Run as ``python -m containersync.localapi.isolation [options] -- CMD ARGS...``. This small
trampoline process, started by ``exec_run``, does in order:

1. join the memory cgroup the parent made (``--cgroup``); if that is impossible, fall back
   to ``RLIMIT_AS`` (``--memory``) and say the limit is approximate;
2. ``unshare(2)`` a private mount namespace (and a network namespace with ``--no-network``),
   through ctypes because Python 3.11 has no ``os.unshare``; as non-root it tries a user
   namespace first so the same works unprivileged where the kernel allows it;
3. make every mount private (``MS_REC|MS_PRIVATE``) *before* mounting anything, then put a
   tmpfs on ``/mnt`` and bind the work tree's ``mnt/data`` at ``/mnt/data`` and its
   ``workspace`` at ``/workspace``;
4. ``chdir`` to ``/mnt/data`` (or the tree's ``mnt/data`` when the mounts failed) and
   ``execvp`` the command, so the command keeps our pid, stdio and exit status.

Invariants:
- Nothing is mounted until the namespace is private, so no mount leaks to the host.
- Whatever cannot be set up is said on stderr (prefixed ``containersync local exec:``) and
  the command still runs, except that a failed cgroup join always leaves an rlimit.
- The only host-visible side effect is creating an empty ``/workspace`` mount point when
  the host has none (a mount point must exist; see the README).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

PREFIX = "containersync local exec:"

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_libc = ctypes.CDLL(None, use_errno=True)


def note(text: str) -> None:
    print(f"{PREFIX} {text}", file=sys.stderr, flush=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else os.fsencode(s)

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"mount {target}")


def join_cgroup(cgroup: Path) -> str | None:
    """Move this process into ``cgroup``; return why not, or None on success."""
    try:
        (cgroup / "cgroup.procs").write_text(f"{os.getpid()}\n", encoding="ascii")
    except OSError as exc:
        return str(exc)
    return None


def enter_namespaces(no_network: bool) -> tuple[str | None, str | None]:
    """Unshare mount (and network) namespaces. Returns (mount failure, network failure)."""
    wanted = CLONE_NEWNS | (CLONE_NEWNET if no_network else 0)
    why = _attempt(unshare, wanted)
    if why and os.geteuid() != 0:
        why = _attempt(_enter_user_namespace, wanted)
    if why is None:
        return None, None
    mount_why = _attempt(unshare, CLONE_NEWNS)
    net_why = _attempt(unshare, CLONE_NEWNET) if no_network else None
    return (f"no private mount namespace ({mount_why})" if mount_why else None,
            f"no network namespace ({net_why})" if net_why else None)


def _attempt(step: Callable[[int], None], flags: int) -> str | None:
    try:
        step(flags)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _enter_user_namespace(flags: int) -> None:
    uid, gid = os.geteuid(), os.getegid()
    unshare(CLONE_NEWUSER | flags)
    Path("/proc/self/setgroups").write_text("deny", encoding="ascii")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1", encoding="ascii")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1", encoding="ascii")


def mount_tree(tree: Path) -> None:
    """Bind ``tree/mnt/data`` at /mnt/data and ``tree/workspace`` at /workspace."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Hold the sources open: the tmpfs on /mnt would hide a tree that lives under /mnt.
    data_fd = os.open(tree / "mnt" / "data", os.O_PATH | os.O_DIRECTORY)
    ws_fd = os.open(tree / "workspace", os.O_PATH | os.O_DIRECTORY)
    try:
        os.makedirs("/mnt", exist_ok=True)
        mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
        os.mkdir("/mnt/data")
        mount(f"/proc/self/fd/{data_fd}", "/mnt/data", None, MS_BIND | MS_REC)
        if not os.path.isdir("/workspace"):
            os.mkdir("/workspace", 0o755)
        mount(f"/proc/self/fd/{ws_fd}", "/workspace", None, MS_BIND | MS_REC)
    finally:
        os.close(data_fd)
        os.close(ws_fd)


def probe() -> dict[str, str | None]:
    """Try everything on a throwaway tree; report each part's failure (None = works)."""
    mount_err, net_err = enter_namespaces(no_network=True)
    if mount_err is None:
        with tempfile.TemporaryDirectory(prefix="containersync-probe-") as tmp:
            for sub in ("mnt/data", "workspace"):
                os.makedirs(os.path.join(tmp, sub))
            try:
                mount_tree(Path(tmp))
            except OSError as exc:
                mount_err = str(exc)
    return {"mount": mount_err, "network": net_err}


def probe_in_child() -> dict[str, str | None]:
    """``probe()`` in a throwaway child process (namespaces cannot be left once entered)."""
    done = subprocess.run([sys.executable, "-m", "containersync.localapi.isolation", "--probe"],
                          capture_output=True, text=True, check=False, timeout=30)
    try:
        found: dict[str, str | None] = json.loads(done.stdout)
    except ValueError:
        why = done.stderr.strip() or f"probe exited {done.returncode}"
        return {"mount": why, "network": why}
    return found


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m containersync.localapi.isolation")
    p.add_argument("--tree", type=Path, help="the work tree laid out like the sandbox")
    p.add_argument("--no-network", action="store_true")
    p.add_argument("--cgroup", type=Path, help="a prepared memory cgroup to join")
    p.add_argument("--memory", type=int, help="bytes; RLIMIT_AS if no cgroup can be joined")
    p.add_argument("--probe", action="store_true", help="print what works as JSON and exit")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if not args.probe and (args.tree is None or not args.command):
        p.error("--tree and a command are required")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.probe:
        print(json.dumps(probe()))
        return 0
    limited = False
    if args.cgroup is not None:
        why = join_cgroup(args.cgroup)
        limited = why is None
        if why:
            note(f"could not join the memory cgroup ({why})")
    if args.memory and not limited:
        resource.setrlimit(resource.RLIMIT_AS, (args.memory, args.memory))
        note(f"memory limit is approximate (address-space rlimit of {args.memory} bytes)")
    tree: Path = args.tree.resolve()
    mount_err, net_err = enter_namespaces(args.no_network)
    cwd = tree / "mnt" / "data"
    if mount_err is None:
        try:
            mount_tree(tree)
            cwd = Path("/mnt/data")
        except OSError as exc:
            mount_err = str(exc)
    if mount_err:
        note(f"absolute /mnt/data paths are not available: {mount_err}; cwd is {cwd}")
    if net_err:
        note(f"network_policy disabled is NOT enforced: {net_err}")
    os.chdir(cwd)
    try:
        os.execvp(args.command[0], args.command)
    except FileNotFoundError:
        note(f"command not found: {args.command[0]}")
        return 127
    except OSError as exc:
        note(f"cannot run {args.command[0]}: {exc.strerror}")
        return 126
    return 0  # not reached: execvp replaced this process


if __name__ == "__main__":
    raise SystemExit(main())
