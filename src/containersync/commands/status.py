"""`containersync status`: what each mapping is doing, safe to run while the daemon runs.

Reads only: the index through its own connection (WAL lets it read beside the daemon's
writer) and the daemon's per-mapping state files (``daemon/state.py``). It makes no API
call, so it answers at once even when the network is down. Each mapping shows the endpoint
it uses (``containersync.endpoint``). ``status FOLDER`` shows a folder synced with no
config file (the same options as ``sync FOLDER``).

Exit code 0; with ``--check`` (for monitoring): 3 when a mapping is halted, else 1 when one
has conflicts or problems (notices such as a skipped symlink do not count), else 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync import jsondoc, status_config
from containersync.commands.status_cost import cost, render_cost
from containersync.daemon.state import is_live, read_state
from containersync.display import printable
from containersync.jsondoc import iso
from containersync.status_config import StatusConfig, StatusMapping

if TYPE_CHECKING:
    from containersync.config import Config
    from containersync.index.records import ConflictRow, MappingState
    from containersync.index.store import Index

EXIT_OK, EXIT_PROBLEMS, EXIT_HALTED = 0, 1, 3
#: problem kinds that are notices, not failures (engine.summary.NOTICE_KINDS, which
#: this read-only command does not import)
NOTICE_KINDS = frozenset({"symlink"})


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "status", help="show each mapping's container, queue, conflicts, problems and halts",
        description="Show what each mapping is doing; works while the daemon runs.",
    )
    from containersync.commands.sync import add_folder_options

    p.add_argument("folder", nargs="?", metavar="FOLDER",
                   help="show a folder synced with no config file (`sync FOLDER`)")
    p.add_argument("--config", type=Path, help="config file (default: $CONTAINERSYNC_CONFIG, "
                   "else $XDG_CONFIG_HOME/containersync/config.toml)")
    add_folder_options(p)
    p.add_argument("--json", action="store_true", help="print JSON on stdout")
    p.add_argument("--check", action="store_true",
                   help="exit 3 if a mapping is halted, else 1 if one has conflicts or "
                        "problems (for monitoring)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = collect(_view(args))
    if args.json:  # the schema: docs/json.md
        jsondoc.dump("status", result, sys.stdout)
    else:
        sys.stdout.write(render(result))
    return check(result) if args.check else EXIT_OK


def check(result: dict[str, Any]) -> int:
    """The ``--check`` exit code of a ``collect`` result."""
    mappings = result["mappings"]
    if any(m["halt"] for m in mappings):
        return EXIT_HALTED
    if any(m["conflicts"] or [p for p in m["problems"] if p["kind"] not in NOTICE_KINDS]
           for m in mappings):
        return EXIT_PROBLEMS
    return EXIT_OK


def _latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _view(args: argparse.Namespace) -> StatusConfig:
    """What ``status`` needs of the config: a config file's from ``status_config`` (cached
    when nothing it was validated from changed, so pydantic is not even imported), the
    folder-only form's from its validated config."""
    from containersync.commands.sync import config_for, folder_only_given

    if getattr(args, "folder", None) is None and not folder_only_given(args):
        return status_config.for_file(args.config)
    return status_config.of(config_for(args), os.environ)


def collect(cfg: Config | StatusConfig) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data."""
    if not isinstance(cfg, StatusConfig):
        cfg = status_config.of(cfg, os.environ)
    path = Path(cfg.index_file)
    index = None
    if path.exists():  # never synced: the index code is not even loaded
        from containersync.index.store import Index

        index = Index.open(path, recover=False)
    try:
        return {"state_dir": cfg.state_dir,
                "mappings": [_one(cfg, m, index) for m in cfg.mappings]}
    finally:
        if index is not None:
            index.close()


def _row(m: StatusMapping, index: Index) -> tuple[str, MappingState | None]:
    """The mapping's key and row: the row of its identity, else a schema-1 row of its name
    that the next sync will claim."""
    key = m.key
    row = index.mapping(key)
    if row is None:
        legacy = index.mapping(m.name)
        if legacy is not None and legacy.local_root is None and legacy.display_name is None:
            return m.name, legacy
    return key, row


def _one(cfg: StatusConfig, m: StatusMapping, index: Index | None) -> dict[str, Any]:
    key, row = _row(m, index) if index is not None else (m.name, None)
    daemon = read_state(Path(cfg.state_dir), m.name)
    live = daemon is not None and is_live(daemon)
    d: dict[str, Any] = daemon if (live and daemon is not None) else {}
    # without a running daemon, the container as the last cycle saw it
    last = dict(row.summary or {}) if row is not None and row.container_id else {}
    out: dict[str, Any] = {
        "mapping": m.name, "local": m.local, "mode": m.mode,
        "endpoint": _endpoint(cfg),
        "synced": row is not None and row.generation > 0,
        "container": {
            "id": d.get("container_id") or (row.container_id if row else None),
            "status": d.get("container_status") or last.get("container_status"),
            "generation": row.generation if row else 0,
            "adopted": bool(row.adopted) if row else m.adopted,
            "expires_at": iso(d.get("expires_at") or last.get("expires_at")),
        },
        "last_push": iso(_latest(row.last_push if row else None, d.get("last_push"))),
        "last_pull": iso(_latest(row.last_pull if row else None, d.get("last_pull"))),
        "last_full_listing": iso(row.last_full_list if row else None),
        "pending_intents": len(index.intents(key)) if index is not None and row else 0,
        "queue": d.get("queue", 0),
        # only copies still there: the rows of deleted ones are forgotten by the next run
        "conflicts": _conflicts(m, index.conflicts(key) if index is not None and row else []),
        "problems": [{"path": p.path, "kind": p.kind, "message": p.message,
                      "since": iso(p.first_seen)}
                     for p in (index.problems(key) if index is not None and row else [])],
        "halt": ({"rail": row.halt.rail, "reason": row.halt.reason,
                  "since": iso(row.halt.since)} if row and row.halt else None),
        "daemon": _daemon(daemon, live),
        "cost": cost(m.memory_limit, cfg.keepalive_budget_s, index, key if row else None),
    }
    return out


def _conflicts(m: StatusMapping, rows: list[ConflictRow]) -> list[dict[str, Any]]:
    if not rows:
        return []
    # the engine (and through it the executor) loads only when there is a copy to look for
    from containersync.engine.conflicts import copy_exists

    return [{"path": c.path, "copy": c.copy_path, "at": iso(c.created_at)}
            for c in rows if copy_exists(m.local, c.copy_path)]


def _endpoint(cfg: StatusConfig) -> dict[str, str]:
    return {"base_url": cfg.base_url, "source": cfg.base_url_source}


def _daemon(d: dict[str, Any] | None, live: bool) -> dict[str, Any]:
    if d is None or not live:
        return {"running": False,
                "last_state": d.get("state") if d else None,
                "last_seen": iso(d.get("updated_at")) if d else None}
    watcher = d.get("watcher") or {}
    return {
        "running": True, "pid": d.get("pid"), "state": d.get("state"),
        "idle": d.get("idle", False), "error": d.get("error"),
        "retry_at": iso(d.get("retry_at")),
        "watcher": watcher.get("mode"), "watcher_degraded": watcher.get("degraded"),
        "full_rescans": watcher.get("full_rescans", 0),
        "last_rescan_reason": watcher.get("last_rescan_reason"),
        "keepalives": d.get("keepalives", 0), "last_keepalive": iso(d.get("last_keepalive")),
        "last_pull_check": iso(d.get("last_pull_check")),
        "cycles": d.get("cycles", 0), "last_cycle": _at_iso(d.get("last_cycle")),
        "replacements": d.get("replacements", 0),
        "last_replacement": _at_iso(d.get("last_replacement")),
    }


def _at_iso(event: dict[str, Any] | None) -> dict[str, Any] | None:
    """A state file's event record (unix ``at``) with ``at`` as ISO 8601 UTC."""
    return None if event is None else {**event, "at": iso(event.get("at"))}


def render(result: dict[str, Any]) -> str:
    """The human-readable form of ``collect``'s result."""
    lines: list[str] = []
    if not result["mappings"]:
        lines.append("no mappings configured (run `containersync init FOLDER`)")
    for m in result["mappings"]:
        c, dmn = m["container"], m["daemon"]
        lines.append(f"{m['mapping']}  {m['local']}  ({m['mode']})")
        ep = m["endpoint"]
        where = ("local (the embedded backend)" if ep["base_url"] == "local"
                 else ep["base_url"])
        lines.append(f"  endpoint:   {where}" + (f" (from {ep['source']})"
                                                 if ep["source"].startswith("$") else ""))
        if dmn["running"]:
            text = f"running (pid {dmn['pid']}): {dmn['state']}"
            if dmn["idle"]:
                text += ", idle (not keeping the container alive)"
            text += f"; queue {m['queue']}; keep-alives {dmn['keepalives']}"
            lines.append(f"  daemon:     {text}")
            if dmn["error"]:
                lines.append(f"  error:      {dmn['error']} (retry at {dmn['retry_at']})")
            lines.append(f"  watcher:    {dmn['watcher']}")
            if dmn["watcher_degraded"]:
                lines.append(f"  WARNING:    {dmn['watcher_degraded']}")
            if dmn["last_replacement"]:
                r = dmn["last_replacement"]
                lines.append(f"  replaced:   container {r['old_container']} was gone; now "
                             f"{r['container']} (generation {r['generation']}), re-seeded "
                             "from local files")
        else:
            lines.append("  daemon:     not running")
        if not m["synced"]:
            lines.append("  container:  none yet (never synced)")
        else:
            status = f" {c['status']}" if c["status"] else ""
            expires = f", expires {c['expires_at']}" if c["expires_at"] else ""
            adopted = ", adopted" if c["adopted"] else ""
            lines.append(f"  container:  {c['id']}{status}, generation {c['generation']}"
                         f"{adopted}{expires}")
        lines.append(f"  cost:       {render_cost(m['cost'])}")
        lines.append(f"  last push:  {m['last_push'] or '-'}   last pull: {m['last_pull'] or '-'}")
        lines.append(f"  pending:    {m['pending_intents']} intent(s); "
                     f"{len(m['conflicts'])} conflict(s); {len(m['problems'])} problem(s)")
        for conflict in m["conflicts"]:
            lines.append(f"    conflict: {conflict['copy']} (beside {conflict['path']})")
        for p in m["problems"][:20]:
            lines.append(f"    problem ({p['kind']}): {p['path']}: {p['message']}")
        if m["halt"]:
            h = m["halt"]
            lines.append(f"  HALTED ({h['rail']}) since {h['since']}: {h['reason']}")
    return "\n".join(printable(line) for line in lines) + "\n"  # names from the sandbox
