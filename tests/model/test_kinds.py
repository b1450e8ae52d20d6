"""The engine's kinds are spelled once (``model/kinds.py``), and their values are the
documented schema (docs/json.md): a StrEnum member is its value in JSON and in SQL."""

from __future__ import annotations

import json

from containersync.model.kinds import (
    COUNTER,
    Counter,
    IntentKind,
    OutcomeKind,
    RootState,
    count,
    pulled,
    pushed,
)


def test_values_are_the_documented_spellings() -> None:
    assert [k.value for k in OutcomeKind] == [
        "uploaded", "downloaded", "deleted-remote", "trashed-local", "conflict-copy",
        "recorded", "dropped", "skipped"]
    assert [c.value for c in Counter] == [
        "uploaded", "downloaded", "deleted_remote", "deleted_local", "conflicts", "recorded",
        "forgotten"]
    assert [k.value for k in IntentKind] == ["create-container", "upload", "delete-remote",
                                            "download"]
    assert [s.value for s in RootState] == ["ok", "missing", "not-a-directory", "empty",
                                           "unreadable"]
    assert json.dumps({Counter.DELETED_LOCAL: OutcomeKind.TRASHED_LOCAL}) == (
        '{"deleted_local": "trashed-local"}')


def test_every_outcome_but_a_skip_is_counted_once() -> None:
    counts: dict[str, int] = {}
    for kind in OutcomeKind:
        count(counts, kind)
    assert counts == {c.value: 1 for c in Counter}
    assert set(COUNTER) == set(OutcomeKind) - {OutcomeKind.SKIPPED}


def test_last_push_and_last_pull_are_changes_only() -> None:
    """One definition for the index (``engine/apply``) and the daemon (``status_model``)."""
    assert not pushed({}) and not pulled({"recorded": 3, "forgotten": 1})
    assert pushed({"uploaded": 1}) and pushed({"deleted_remote": 1})
    assert not pulled({"uploaded": 1, "deleted_remote": 1})
    for counter in ("downloaded", "deleted_local", "conflicts"):
        assert pulled({counter: 1}) and not pushed({counter: 1})
