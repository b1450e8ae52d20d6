"""A full cycle applies the ignore rules the rule files hold when it runs.

The daemon reloads the rules when the watcher reports an edit of a rule file. An edit whose
event was lost (an inotify queue overflow, after which the daemon owes a full cycle) left
every later cycle on the old rules: a folder the user had just excluded was uploaded by
that very full cycle. A full cycle now reads the rule files itself. Real backend over HTTP,
real files, real SQLite; the context is one long-lived mapping's, as the daemon keeps it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle


def now() -> datetime:
    return datetime.now(UTC)


def test_a_rule_edited_without_an_event_holds_back_what_it_excludes(
        ctx: MappingContext) -> None:
    root = ctx.settings.local_root
    (root / "notes.txt").write_text("shared\n")
    (root / ".containersyncignore").write_text("build/\n")
    assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": 2}

    # the user excludes a folder, then puts what they keep to themselves there; the
    # watcher's event for the rule file never reached the daemon
    (root / ".containersyncignore").write_text("build/\nprivate/\n")
    (root / "private").mkdir()
    (root / "private" / "diary.txt").write_text("not for any sandbox\n")
    report = run_cycle(ctx, CycleOptions(), now=now)

    sent = {o.action.path for o in report.outcomes if o.kind == "uploaded"}
    assert "private/diary.txt" not in sent, report.counts
    assert sent == {".containersyncignore"}


def test_a_rule_file_that_is_a_link_is_read_again_when_its_target_changed(
        ctx: MappingContext, tmp_path: Path) -> None:
    # the rules are read through a link (a dotfiles manager links ``.gitignore`` and the
    # like); their stamp was the link's own lstat, which an edit of the target leaves
    # as it was, so the full cycle kept the old rules
    root = ctx.settings.local_root
    kept = tmp_path / "dotfiles"
    kept.mkdir()
    (kept / "ignore").write_text("build/\n")
    (root / ".containersyncignore").symlink_to(kept / "ignore")
    (root / "notes.txt").write_text("shared\n")
    ctx.reload_rules()  # as the daemon does on the link's event
    assert run_cycle(ctx, CycleOptions(), now=now).counts == {"uploaded": 1}

    (kept / "ignore").write_text("build/\nprivate/\n")  # no event in the root at all
    (root / "private").mkdir()
    (root / "private" / "diary.txt").write_text("not for any sandbox\n")
    report = run_cycle(ctx, CycleOptions(), now=now)
    sent = {o.action.path for o in report.outcomes if o.kind == "uploaded"}
    assert "private/diary.txt" not in sent, report.counts
