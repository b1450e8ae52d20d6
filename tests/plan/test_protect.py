"""Pull-protected paths (issue 8, finding 3): which they are, and that a plan never writes
one locally while everything else it decided stays."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containersync.model.entry import LocalFile, RemoteFile
from containersync.model.plan import (
    Action,
    Conflict,
    DeleteRemote,
    Download,
    DropBase,
    Plan,
    RecordBase,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)
from containersync.plan.protect import hold_back_pulls, pull_protected

PROTECTED = [".envrc", "web/.envrc", ".ENVRC", ".containersyncignore", ".gitignore",
             ".GitIgnore", ".git", ".git/config", ".git/hooks/post-checkout", "lib/.git",
             "a/b/.git/hooks/pre-commit", ".GIT/config", ".hg/hgrc", "x/.svn/entries",
             ".vscode/tasks.json", ".idea/workspace.xml"]
PULLED = ["envrc", ".envrc.md", "docs/.envrc.example", "sub/.gitignore",
          "sub/.containersyncignore", ".gitattributes", "git/config", ".github/workflows/ci.yml",
          "my.git", ".gitkeep", "Makefile", "vscode/settings.json", "out.txt"]


@pytest.mark.parametrize("rel", PROTECTED)
def test_protected(rel: str) -> None:
    assert pull_protected(rel)


@pytest.mark.parametrize("rel", PULLED)
def test_ordinary_paths_are_pulled(rel: str) -> None:
    assert not pull_protected(rel)


def _local(path: str) -> LocalFile:
    return LocalFile(path=path, size=1, mtime_ns=1, sha256="0" * 64)


def _remote(path: str) -> RemoteFile:
    return RemoteFile(file_id=f"cfile_{path}", path=path, remote_path=f"/mnt/data/{path}",
                      created_at=1, source="assistant")


def _actions(path: str) -> list[Action]:
    return [Download(path=path, remote=_remote(path)),
            TrashLocal(path=path, expect_local=_local(path)),
            SaveConflictCopy(path=path, remote=_remote(path), copy_path=path + ".conflict"),
            Upload(path=path, local=_local(path)),
            DeleteRemote(path=path, remote=_remote(path)),
            RecordBase(path=path, local=_local(path), remote=_remote(path))]


def test_a_conflict_at_a_protected_path_keeps_the_upload_and_drops_the_copy() -> None:
    plan = Plan(actions=(SaveConflictCopy(path=".envrc", remote=_remote(".envrc"),
                                          copy_path=".envrc.conflict"),
                         Upload(path=".envrc", local=_local(".envrc"))),
                conflicts=(Conflict(".envrc", ".envrc.conflict", "cfile_.envrc"),))
    kept, held = hold_back_pulls(plan)
    assert held == (".envrc",)
    assert kept.actions == (Upload(path=".envrc", local=_local(".envrc")),) and not kept.conflicts


@given(st.lists(st.tuples(st.sampled_from(PROTECTED + PULLED), st.integers(0, 5)), max_size=20),
       st.booleans())
def test_hold_back_removes_exactly_the_local_writes_at_protected_paths(
        picks: list[tuple[str, int]], resend: bool) -> None:
    """Downloads and conflict copies there go; the sandbox's deletion of the user's copy
    becomes an upload of it (a mapping that never uploads forgets the base instead)."""
    actions = tuple(_actions(path)[i] for path, i in picks)
    kept, held = hold_back_pulls(Plan(actions=actions), resend=resend)
    expected: list[Action] = []
    for a in actions:
        if not pull_protected(a.path) or not isinstance(a, (Download, TrashLocal,
                                                             SaveConflictCopy)):
            expected.append(a)
        elif isinstance(a, TrashLocal):
            expected.append(Upload(path=a.path, local=a.expect_local) if resend
                            else DropBase(path=a.path))
    assert kept.actions == tuple(expected)
    assert held == tuple(sorted({a.path for a in actions if pull_protected(a.path)
                                 and isinstance(a, (Download, TrashLocal, SaveConflictCopy))}))


@given(st.lists(st.tuples(st.sampled_from(PROTECTED + PULLED), st.integers(0, 5)), max_size=20))
def test_hold_back_keeps_every_other_paths_decision(picks: list[tuple[str, int]]) -> None:
    """Every path decided stays decided, the held ones too: their objects become known."""
    actions = tuple(_actions(path)[i] for path, i in picks)
    decided = frozenset(PROTECTED + PULLED)
    kept, _ = hold_back_pulls(Plan(actions=actions, decided=decided))
    assert kept.decided == decided
