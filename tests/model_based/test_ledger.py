"""The checker of the model test and the soak flags each broken invariant, and nothing in a
converged state (so a green model test means something)."""

from __future__ import annotations

from support.ledger import Ledger, RemoteObject, body, token_of


def obj(n: int, rel: str, token: str | None, source: str = "user") -> RemoteObject:
    return RemoteObject(f"cfile_{n}", f"/mnt/data/{rel}", source, token, rel)


def ledger_with(*placed: tuple[str, str]) -> Ledger:
    ledger = Ledger()
    for rel, token in placed:
        ledger.placed(rel, token)
    return ledger


def test_tokens_survive_any_size() -> None:
    assert token_of(body("@1-L-a", "large")) == "@1-L-a"
    assert token_of(body("@1-L-a", "empty")) is None


def test_a_converged_state_passes() -> None:
    ledger = ledger_with(("a.txt", "@1"), ("b.txt", "@2"))
    ledger.superseded("a.txt", ["@0"])
    local = {"a.txt": "@1", "b.txt": "@2", "b.conflict-20261201-101500.txt": "@3"}
    objects = [obj(1, "a.txt", "@0", "assistant"), obj(2, "a.txt", "@1"), obj(3, "b.txt", "@2")]
    assert ledger.violations(local, objects) == []


def test_each_broken_invariant_is_named() -> None:
    ledger = ledger_with(("a.txt", "@1"), ("b.txt", "@2"), ("c.txt", "@3"))
    ledger.deleted("d.txt", ["@4"])
    ledger.observe({"c.txt": "@5"})
    ledger.observe({"c.txt": "@6"})  # the folder moved past @5
    local = {"a.txt": "@9", "c.txt": "@5", "d.txt": "@4"}
    objects = [obj(1, "a.txt", "@9"), obj(2, "a.txt", "@9"), obj(3, "d.txt", "@4"),
               obj(4, "c.txt", "@5"),
               RemoteObject("cfile_5", "/mnt/data/x", "user", "@6", "?unrecorded upload x")]
    found = "\n".join(ledger.violations(local, objects))
    assert "a.txt: 2 objects of ours" in found
    assert "lost write @1" in found and "lost write @2" in found
    assert "d.txt: deleted content @4 came back locally" in found
    assert "d.txt: deleted content @4 is still in the container" in found
    assert "c.txt: rolled back to overwritten content @5" in found
    assert "stands for no local path: ?unrecorded upload x" in found


def test_the_sides_must_agree() -> None:
    ledger = Ledger()
    local = {"a.txt": None, "b.txt": "@2"}
    objects = [obj(1, "b.txt", "@1"), obj(2, "c.txt", "@3", "assistant")]
    found = "\n".join(ledger.violations(local, objects))
    assert "a.txt: local (None) but no object stands for it" in found
    assert "b.txt: local holds @2, the newest object user cfile_1 holds @1" in found
    assert "c.txt: absent locally but the container still holds assistant cfile_2" in found


def test_a_version_kept_in_place_by_a_conflict_is_no_rollback() -> None:
    ledger = ledger_with(("a.txt", "@2"))
    ledger.observe({"a.txt": "@1"})
    ledger.superseded("a.txt", ["@1"])  # the assistant rewrote it: @2
    local = {"a.txt": "@1", "a.conflict-20261201-101500.txt": "@2"}
    objects = [obj(1, "a.txt", "@2", "assistant"), obj(2, "a.txt", "@1")]
    assert ledger.violations(local, objects) == []
