"""`containersync sync`: make every mapped folder and its container agree, once, and exit.

``containersync sync FOLDER [--container NAME|ID] [--mode M]`` syncs one folder with no
config file (``containersync.folder``; the endpoint and key as the ``openai`` SDK reads
them). A dry run reads only (index, folder, listing), so it takes no lock and works while
the daemon runs.

Exit codes (SYNC_SEMANTICS): 0 converged, 1 per-path problems or a mapping that could not
run (retry later), 2 usage, 3 halted by a safety rail, 77 the API refused the key
(retrying will not help), 78 invalid configuration (a mapping that cannot run as
configured wins over the others: the user must act).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync import jsondoc
from containersync.display import printable
from containersync.errors import (
    AuthError,
    ConfigError,
    ContainerSyncError,
    Halted,
    LockedError,
    UsageError,
)
from containersync.journal import INFO, WARNING, for_stream

if TYPE_CHECKING:  # the engine loads only when the command runs, so `--help` stays fast
    from containersync.config import Config
    from containersync.engine.session import Session
    from containersync.index.store import Index

EXIT_OK, EXIT_PROBLEMS, EXIT_HALTED, EXIT_REFUSED, EXIT_CONFIG = 0, 1, 3, 77, 78


def add_parser(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "sync", help="sync every mapping once and exit",
        description="Make each mapped folder and its container agree, once, then exit.",
    )
    p.add_argument("folder", nargs="?", metavar="FOLDER",
                   help="sync this folder, with no config file (see --container, --mode)")
    p.add_argument("--config", type=Path, help="config file (default: $CONTAINERSYNC_CONFIG, "
                   "else $XDG_CONFIG_HOME/containersync/config.toml)")
    p.add_argument("--mapping", action="append", metavar="NAME",
                   help="only this mapping (repeatable)")
    add_folder_options(p)
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan; change nothing anywhere")
    p.add_argument("--force", action="store_true",
                   help="proceed past a safety rail (too many deletions, emptied side)")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only problems (one line each) and halts; the exit code is "
                        "unchanged")
    p.set_defaults(func=run)


def add_folder_options(p: argparse.ArgumentParser) -> None:
    """The options of the folder-only form (``sync FOLDER``, ``daemon FOLDER``, ...)."""
    p.add_argument("--container", metavar="NAME|ID",
                   help="with FOLDER: a cntr_ id to adopt, or the name of the container to "
                        "create (default: containersync-<folder name>-<digest>)")
    p.add_argument("--mode", choices=["two-way", "push", "pull"], default=None,
                   help="with FOLDER: direction of sync (default: two-way)")
    p.add_argument("--base-url", metavar="URL",
                   help='with FOLDER: the API ("local" for the embedded backend; default: '
                        "$OPENAI_BASE_URL, else https://api.openai.com/v1)")
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="with FOLDER: index, locks and trash (default: "
                        "$XDG_STATE_HOME/containersync)")


def folder_only_given(args: argparse.Namespace) -> list[str]:
    """The options given that only apply with FOLDER (``sync FOLDER``)."""
    return [f"--{o.replace('_', '-')}" for o in ("container", "mode", "base_url", "state_dir")
            if getattr(args, o, None) is not None]


def config_for(args: argparse.Namespace) -> Config:
    """The config a command acts on: the folder-only form's, or the file's."""
    if getattr(args, "folder", None) is None:
        from containersync.status_config import config_for_file

        given = folder_only_given(args)
        if given:
            raise UsageError(f"{', '.join(given)} only apply with FOLDER; for a config "
                             "file's mappings, set them in the file")
        return config_for_file(args.config)  # cached: no pydantic while nothing changed
    from containersync.folder import folder_config

    if args.config is not None or getattr(args, "mapping", None):
        raise UsageError("give FOLDER or --config/--mapping, not both")
    return folder_config(args.folder, container=args.container, mode=args.mode or "two-way",
                         base_url=args.base_url, state_dir=args.state_dir)


def now() -> datetime:
    return datetime.now(UTC)


def run(args: argparse.Namespace) -> int:
    from containersync.engine.session import session
    from containersync.index.health import move_aside

    cfg = config_for(args)
    known = {m.name: m for m in cfg.mappings}
    unknown = [n for n in args.mapping or () if n not in known]
    if unknown:
        raise UsageError(f"no mapping named {unknown[0]!r} in the config; "
                         f"use one of: {', '.join(known) or '(none configured)'}")
    mappings = [known[n] for n in args.mapping] if args.mapping else list(cfg.mappings)
    with session(cfg) as sess:
        try:
            results = _sync_all(sess, cfg, mappings, args, recover=True)
        except _Damaged as damaged:
            # found damaged in the middle of a run (a page no open touches): move it aside
            # and run once more, which rebuilds every mapping from its container
            aside = move_aside(damaged.path)
            _warn_damaged(damaged.path, aside, damaged.text)
            results = _sync_all(sess, cfg, mappings, args, recover=False)
    code = _exit_code(results)
    if args.json:  # the schema: docs/json.md
        jsondoc.dump("sync", {"exit_code": code, "dry_run": bool(args.dry_run),
                              "mappings": results}, sys.stdout)
    return code


class _Damaged(Exception):
    def __init__(self, path: Path, text: str) -> None:
        super().__init__(text)
        self.path, self.text = path, text


def _warn_damaged(path: Path, aside: Path, damage: str) -> None:
    text = (f"containersync: WARNING: the index {path} was damaged ({damage}); moved it to "
            f"{aside} and rebuilding every mapping from its container")
    print(for_stream(text, sys.stderr, WARNING), file=sys.stderr)


def _sync_all(sess: Session, cfg: Config, mappings: list[Any], args: argparse.Namespace, *,
              recover: bool) -> list[dict[str, Any]]:
    import sqlite3

    from containersync.index.health import is_corrupt, sqlite_error
    from containersync.index.store import index_for_run

    results: list[dict[str, Any]] = []
    with index_for_run(Path(cfg.state.index_file), dry_run=args.dry_run) as index:
        if index.moved_aside is not None:
            _warn_damaged(index.path, *index.moved_aside)
        for m in mappings:
            try:
                results.append(_sync_one(sess, index, m, args))
            except sqlite3.Error as exc:
                if recover and is_corrupt(exc) and not args.dry_run:
                    raise _Damaged(index.path, str(exc)) from None
                raise sqlite_error(exc, index.path) from None
    return results


def _sync_one(sess: Session, index: Index, m: Any, args: argparse.Namespace) -> dict[str, Any]:
    from containersync.engine.cycle import CycleOptions
    from containersync.engine.progress import Progress
    from containersync.engine.runner import sync_mapping
    from containersync.engine.summary import HeldBackNotes, size_text
    from containersync.index.lock import MappingLock
    from containersync.plan.preview import action_bytes

    ctx = sess.context(m, index)
    state = index.mapping(ctx.name)
    held = HeldBackNotes(state.summary if state else None)
    progress = Progress(m.name, quiet=args.quiet)
    opts = CycleOptions(force=args.force, dry_run=args.dry_run, scan_while_listing=True,
                        collect_while_listing=False,
                        on_outcome=progress.on_outcome, on_plan=progress.on_plan,
                        on_bytes=progress.on_bytes)
    lock = MappingLock(sess.state_dir, ctx.name, purpose="containersync sync")
    try:
        if args.dry_run:  # reads only: safe beside the daemon, which holds the lock
            report = sync_mapping(ctx, opts, now=now)
        else:
            with lock:
                report = sync_mapping(ctx, opts, now=now)
    except Halted as exc:
        _problem(args, f"{m.name}: HALTED ({exc.rail}): {exc.reason}")
        return {"mapping": m.name, "status": "halted", "rail": exc.rail, "reason": exc.reason}
    except LockedError as exc:
        _problem(args, f"{m.name}: skipped: {exc}")
        return {"mapping": m.name, "status": "locked", "reason": str(exc)}
    except AuthError as exc:
        _problem(args, f"{m.name}: the API refused the key: {exc}; check the key "
                   "(retrying will not help)")
        return {"mapping": m.name, "status": "refused", "reason": str(exc)}
    except ConfigError as exc:  # this mapping cannot run as configured; the others may
        _problem(args, f"{m.name}: configuration error: {exc}")
        return {"mapping": m.name, "status": "config-error", "reason": str(exc)}
    except ContainerSyncError as exc:
        _problem(args, f"{m.name}: failed: {exc}")
        return {"mapping": m.name, "status": "failed", "reason": str(exc)}
    finally:
        progress.close()
    if not args.dry_run:
        ctx.trash.purge(now())
    _say(args, report.line())
    if report.rebuilt:
        _say(args, f"{m.name}: rebuilt the index from container {report.container_id} "
                   f"({report.rebuilt}): {report.rebuilt_matched} file(s) matched by "
                   "content, nothing deleted")
    for note in held.notes(report):  # said when a new one appears, not on every run
        _say(args, f"{m.name}: {note.text}")
    _say_problems(args, index, ctx.name, m.name, report.problems)
    if args.dry_run and not (args.json or args.quiet):
        for action in report.plan.actions:
            size = action_bytes(action)
            shown = f" ({size_text(size)})" if size is not None else ""
            _say(args, f"  would {type(action).__name__}: {action.path}{shown}")
    status = "problems" if not report.converged else "pending" if report.pending else "converged"
    out = {"status": status, **report.to_dict()}
    out["expires_at"] = jsondoc.iso(report.expires_at)
    return out


def _say_problems(args: argparse.Namespace, index: Index, key: str, mapping: str,
                  problems: list[Any]) -> None:
    """Problems every run; notices (symlinks) only the first time they are seen."""
    from containersync.engine.summary import NOTICE_KINDS

    first_seen = {(p.path, p.kind): p.first_seen == p.last_seen for p in index.problems(key)}
    for problem in problems:
        if problem.kind in NOTICE_KINDS:
            if first_seen.get((problem.path, problem.kind), True):
                _say(args, f"{mapping}: note: {problem.path}: {problem.message}")
            continue
        _problem(args, f"{mapping}: problem ({problem.kind}) {problem.path}: {problem.message}")


def _say(args: argparse.Namespace, text: str) -> None:
    """Every line ``sync`` prints goes here or to ``_problem``: names from the sandbox are
    escaped. ``--quiet`` silences these (summaries, notes, notices)."""
    if not args.quiet:
        _print(args, text, INFO)


def _problem(args: argparse.Namespace, text: str) -> None:
    """A line about something that went wrong (a problem, a halt, a mapping that could not
    run): said even with ``--quiet``, once; a warning in the journal."""
    _print(args, text, WARNING)


def _print(args: argparse.Namespace, text: str, priority: int) -> None:
    stream = sys.stderr if args.json else sys.stdout
    print(for_stream(printable(text), stream, priority), file=stream)


def _exit_code(results: list[dict[str, Any]]) -> int:
    statuses = {r["status"] for r in results}
    if "refused" in statuses:
        return EXIT_REFUSED
    if "config-error" in statuses:
        return EXIT_CONFIG
    if "halted" in statuses:
        return EXIT_HALTED
    if statuses - {"converged", "pending"}:  # pending: a dry run's plan, not a problem
        return EXIT_PROBLEMS
    return EXIT_OK
