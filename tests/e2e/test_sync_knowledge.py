"""Order by knowledge, not by clocks (issue 7, findings 1-4), end to end in both path modes.

``created_at`` has one-second resolution, and ties are ordered by id: a clock cannot say
which of two writes in the same second came first, nor whether the assistant wrote a file
before or after our upload of it landed. These scenarios put the server's timestamps where
a real race puts them (``stamp`` rewrites an object's ``created_at`` in the backend's own
store: the server reporting the same second), inject faults after the server acted
(``/_local/faults``), and check what the user sees: no edit given away, nothing deleted
coming back, no upload of ours left behind, "converged" only when it is true.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from containersync.config import parse_config
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.session import open_session
from containersync.index.store import Index
from containersync.localapi.embedded import RunningServer
from containersync.model.plan import Plan
from support.backend import add_assistant_file, clear_faults, inject_fault, raw
from support.scenario import KEY_ENV, World, counts

NAMES = [f"d{i}.txt" for i in range(8)]


def stamp(server: RunningServer, file_id: str, created_at: float) -> None:
    """Make the backend report ``created_at`` for one object (a same-second race)."""
    with server.store._db.write() as conn:
        conn.execute("UPDATE container_files SET created_at = ? WHERE id = ?",
                     (created_at, file_id))


def index_of(world: World) -> Index:
    return Index.open(world.index_file)


def base_ids(world: World) -> dict[str, str | None]:
    with index_of(world) as index:
        return {p: b.remote_id for p, b in index.bases(world.key).items()}


def by_id(world: World) -> dict[str, dict[str, Any]]:
    return {o["id"]: o for o in world.objects()}


def copies(world: World) -> dict[str, str]:
    return {p: c for p, c in world.local().items() if ".conflict-" in p}


def now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def engine(world: World) -> Iterator[Callable[..., Any]]:
    """``run_cycle`` on the world's mapping, for scenarios that act between plan and
    execution (``on_plan``)."""
    cfg = parse_config(world.config.read_text(), file=world.config, env={})
    session = open_session(cfg, env={KEY_ENV: "sk-scenario-unused"})
    try:
        ctx = session.context(cfg.mappings[0], session.open_index())

        def run(**opts: Any) -> Any:
            return run_cycle(ctx, CycleOptions(**opts), now=now)

        yield run
    finally:
        session.close()


# -- finding 1: a conflict, then a calm sync --------------------------------------------

def test_a_calm_sync_after_a_conflict_keeps_the_users_edit(world: World) -> None:
    """User and assistant edit the same files; sync 1 saves the assistant's versions as
    conflict copies and uploads the user's. The server then reports the assistant's object
    in the same second as our upload (ties ordered by id): sync 2 must change nothing."""
    world.write({n: "v1" for n in NAMES})
    assert world.sync().code == 0
    world.write({n: f"mine {n}" for n in NAMES})
    world.assistant_changes({n: f"theirs {n}" for n in NAMES})
    first = world.sync()
    assert first.code == 0, first.out
    # our superseded uploads (the v1 objects) are garbage, deleted in the same run
    assert first.counts == counts(uploaded=8, conflicts=8, deleted_remote=8)

    objects, ours = by_id(world), base_ids(world)
    for n in NAMES:
        upload = objects[ours[n] or ""]
        theirs = [o for o in objects.values() if o["source"] == "assistant"
                  and o["path"].endswith((f"/{n}", f"-{n}"))]
        assert len(theirs) == 1
        stamp(world.server, theirs[0]["id"], upload["created_at"])

    second = world.sync()
    assert second.code == 0, second.out
    assert second.counts == counts()
    assert {n: world.local()[n] for n in NAMES} == {n: f"mine {n}" for n in NAMES}
    assert sorted(copies(world).values()) == sorted(f"theirs {n}" for n in NAMES)
    assert world.trash() == {}


# -- finding 2: the assistant writes between our plan and our upload -------------------

def test_an_assistant_write_between_plan_and_upload_becomes_a_conflict(world: World) -> None:
    world.write({"d.txt": "v1"})
    assert world.sync().code == 0
    sandbox = world.sandbox_path("d.txt")
    world.write({"d.txt": "mine"})

    def assistant_writes(_plan: Plan) -> None:
        add_assistant_file(world.server, world.cid, sandbox, b"theirs")
        world.server.advance_clock(1)  # our upload lands strictly later

    with engine(world) as run:
        report = run(on_plan=assistant_writes)
    assert report.counts.get("uploaded") == 1

    settle = world.sync()
    assert settle.code == 0, settle.out
    assert world.local()["d.txt"] == "mine"
    assert list(copies(world).values()) == ["theirs"], world.local()
    assert world.remote()["d.txt"] == "mine"
    again = world.sync()
    assert (again.code, again.counts) == (0, counts())
    assert sorted(world.local()) == sorted(["d.txt", *copies(world)])


# -- finding 3: superseded objects of ours are garbage, never versions ------------------

def _assistant_rewrites_our_upload(world: World) -> tuple[str, str]:
    """d.txt uploaded, then rewritten by the assistant at our object's sandbox path and
    pulled; returns (our old object id, the rewrite's id)."""
    world.write({"d.txt": "v1", "keep.txt": "k"})
    assert world.sync().code == 0
    old = base_ids(world)["d.txt"]
    world.assistant_changes({"d.txt": "v2 by the assistant"})
    pulled = world.sync()
    assert pulled.code == 0 and pulled.counts["downloaded"] == 1
    assert world.local()["d.txt"] == "v2 by the assistant"
    rewrite = base_ids(world)["d.txt"]
    assert old and rewrite and old != rewrite
    return old, rewrite


def test_our_superseded_upload_is_deleted(world: World) -> None:
    old, _ = _assistant_rewrites_our_upload(world)
    assert old not in by_id(world)
    assert world.sync().counts == counts()


def test_deleting_a_rewritten_file_locally_does_not_bring_the_old_version_back(
        world: World) -> None:
    _assistant_rewrites_our_upload(world)
    world.write({"d.txt": None})
    gone = world.sync()
    assert gone.code == 0 and gone.counts["deleted_remote"] >= 1
    again = world.sync()
    assert again.counts == counts()
    assert "d.txt" not in world.local()
    assert "d.txt" not in world.remote()


def test_the_assistant_deleting_its_rewrite_does_not_roll_the_file_back(world: World) -> None:
    _, rewrite = _assistant_rewrites_our_upload(world)
    with raw(world.server) as client:
        client.delete(f"/v1/containers/{world.cid}/files/{rewrite}").raise_for_status()
    after = world.sync()
    assert after.code == 0
    assert "d.txt" not in world.local()
    assert world.trash().get("d.txt") == "v2 by the assistant"
    assert world.sync().counts == counts()


# -- finding 4: an upload whose follow-up failed is never orphaned ------------------------

def _fault(world: World, method: str, path_regex: str, *, status: int = 503, times: int = 20,
           when: str = "before") -> None:
    inject_fault(world.server, method=method, path_regex=path_regex, status=status,
                 times=times, when=when, retry_after_ms=0)


def _assert_one_object_per_path(world: World, want: dict[str, str]) -> None:
    assert world.local() == want
    assert world.remote() == want
    ours = {i for i in base_ids(world).values() if i}
    assert {o["id"] for o in world.objects()} == ours, "an object of ours was left behind"


def test_an_upload_whose_replaced_object_cannot_be_deleted_is_recorded(world: World) -> None:
    world.write({"a.txt": "v1", "b.txt": "b"})
    assert world.sync().code == 0
    world.write({"a.txt": "v2 longer"})
    _fault(world, "DELETE", r"/files/")
    failed = world.sync()
    assert failed.code == 1, failed.out
    assert failed.m["status"] != "converged"
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    print("HEALED", healed.out)
    assert healed.counts["uploaded"] == 0
    _assert_one_object_per_path(world, {"a.txt": "v2 longer", "b.txt": "b"})
    world.write({"a.txt": None})
    assert world.sync().code == 0
    _assert_one_object_per_path(world, {"b.txt": "b"})


def test_an_upload_whose_recovery_listing_fails_is_settled(world: World) -> None:
    world.write({"b.txt": "b"})
    assert world.sync().code == 0
    world.write({"a.txt": "new file"})

    def faults(_plan: Plan) -> None:  # after the cycle's own listing
        _fault(world, "POST", r"/files$", times=1, when="after")  # landed, answer lost
        _fault(world, "GET", r"/files$", times=6)  # the recovery listings

    with engine(world) as run:
        report = run(on_plan=faults)
    assert report.problems and not report.converged
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    print("HEALED", healed.out)
    _assert_one_object_per_path(world, {"a.txt": "new file", "b.txt": "b"})
    world.write({"a.txt": None})
    assert world.sync().code == 0
    _assert_one_object_per_path(world, {"b.txt": "b"})


def test_two_unsettled_uploads_of_one_name_are_each_settled(world: World) -> None:
    """Two uploads with the same file name (other folders, same size, other content) both
    land with their answers and recoveries lost: settling the first must not claim the
    second's object, or that one is never recorded and stays in the container."""
    world.write({"keep.txt": "k"})
    assert world.sync().code == 0
    want = {"keep.txt": "k", "a/x.txt": "aaaa", "b/x.txt": "bbbb"}
    world.write({"a/x.txt": "aaaa", "b/x.txt": "bbbb"})

    def faults(_plan: Plan) -> None:  # after the cycle's own listing
        _fault(world, "POST", r"/files$", times=2, when="after")  # both land, answers lost
        _fault(world, "GET", r"/files$", times=100)  # every recovery and settling listing

    with engine(world) as run:
        report = run(on_plan=faults)
    assert report.problems and not report.converged
    with index_of(world) as index:
        assert len([i for i in index.intents(world.key) if i.kind == "upload"]) == 2
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    _assert_one_object_per_path(world, want)


def test_an_upload_whose_recovery_hash_is_rate_limited_is_settled(world: World) -> None:
    world.write({"b.txt": "b"})
    assert world.sync().code == 0
    world.write({"a.txt": "new file"})
    _fault(world, "POST", r"/files$", times=1, when="after")
    _fault(world, "GET", r"/content$", status=429, times=6)
    world.sync()
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    print("HEALED", healed.out)
    _assert_one_object_per_path(world, {"a.txt": "new file", "b.txt": "b"})
    world.write({"a.txt": None})
    assert world.sync().code == 0
    _assert_one_object_per_path(world, {"b.txt": "b"})


def test_deleting_a_file_locally_removes_every_version_the_sandbox_shows(
        world: World) -> None:
    """After a conflict the assistant's losing version stays in the container, and an
    assistant that rewrote a file twice left two objects: deleting the file locally must
    not leave the sandbox showing an older version of it."""
    world.write({"c.txt": "v1", **{f"keep{i}.txt": "k" for i in range(4)}})
    assert world.sync().code == 0
    world.write({"c.txt": "mine"})
    world.assistant_changes({"c.txt": "theirs", "twice.txt": "first"})
    world.assistant_changes({"twice.txt": "second"})
    assert world.sync().counts["conflicts"] == 1
    assert world.local()["twice.txt"] == "second"

    world.write({"c.txt": None, "twice.txt": None})
    assert world.sync().code == 0
    shown = world.assistant("cd /mnt/data && find . -type f ! -name '*containersync-manifest.json'"
                            " | sort").stdout.split()
    assert len(shown) == 4 and all("keep" in name for name in shown), shown
    again = world.sync()
    assert (again.code, again.counts) == (0, counts())
    assert sorted(p for p in world.local() if ".conflict-" not in p) == [
        f"keep{i}.txt" for i in range(4)]


def test_a_failed_download_keeps_the_object_the_base_records(world: World) -> None:
    """The assistant rewrote d.txt: the plan downloads its version and deletes our
    superseded upload. If the download fails, our upload must stay (and the base with it):
    deleted, the next run would take the unchanged local file for a new one and make a
    conflict out of a plain remote change."""
    world.write({"d.txt": "v1", **{f"keep{i}.txt": "k" for i in range(3)}})
    assert world.sync().code == 0
    world.assistant_changes({"d.txt": "theirs"})
    _fault(world, "GET", r"/content$", status=500)
    failed = world.sync()
    assert failed.code == 1, failed.out
    assert failed.counts["deleted_remote"] == 0
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    assert healed.counts == counts(downloaded=1, deleted_remote=1)
    assert world.local()["d.txt"] == "theirs" and copies(world) == {}
    assert world.sync().counts == counts()


# -- same-second writes nobody has seen: no clock orders them --------------------------

def test_same_second_assistant_writes_all_survive(world: World) -> None:
    """The assistant writes each of 8 new files twice in one second: ``created_at`` cannot
    order the two, and ids are random. The write the server lists last (the local backend
    lists in write order) is taken; the other is saved as a conflict copy, so no write is
    lost whichever id is larger (all 8 in order by luck: 1 in 256)."""
    world.write({"keep.txt": "k"})
    assert world.sync().code == 0
    for n in NAMES:
        where = world.sandbox_path(n)
        first = add_assistant_file(world.server, world.cid, where, f"first {n}".encode())
        second = add_assistant_file(world.server, world.cid, where, f"second {n}".encode())
        for made in (first, second):  # one second, whatever the clock did
            stamp(world.server, made["id"], first["created_at"])
    pulled = world.sync()
    assert pulled.code == 0, pulled.out
    assert {n: world.local()[n] for n in NAMES} == {n: f"second {n}" for n in NAMES}
    assert sorted(copies(world).values()) == sorted(f"first {n}" for n in NAMES)
    again = world.sync()
    assert (again.code, again.counts) == (0, counts())


def test_same_second_writes_with_equal_content_make_no_copy(world: World) -> None:
    """Two unseen same-second objects holding the same bytes are one write: no copy."""
    world.write({"keep.txt": "k"})
    assert world.sync().code == 0
    made = [add_assistant_file(world.server, world.cid, world.sandbox_path("s.txt"), b"same")
            for _ in range(2)]
    for one in made:
        stamp(world.server, one["id"], made[0]["created_at"])
    pulled = world.sync()
    assert pulled.code == 0, pulled.out
    assert world.local()["s.txt"] == "same" and copies(world) == {}
    assert world.sync().counts == counts()


def test_the_assistant_deleting_its_newest_version_leaves_no_older_one_behind(
        world: World) -> None:
    """The assistant wrote w.txt twice (two objects), the sync pulled the newer one, then
    the assistant deleted that object through the API: the older one, already decided on,
    must go too, or the sandbox shows a file the folder lacks (seeds 1 and 2 of the soak)."""
    world.write({f"keep{i}.txt": "k" for i in range(4)})
    assert world.sync().code == 0
    world.assistant_changes({"w.txt": "first"})
    world.assistant_changes({"w.txt": "second"})
    assert world.sync().code == 0 and world.local()["w.txt"] == "second"
    newest = max((o for o in world.objects() if o["source"] == "assistant"),
                 key=lambda o: o["created_at"])
    with raw(world.server) as client:
        client.delete(f"/v1/containers/{world.cid}/files/{newest['id']}").raise_for_status()
    gone = world.sync()
    assert gone.code == 0, gone.out
    assert "w.txt" not in world.local()
    assert [o for o in world.objects() if o["source"] == "assistant"] == []
    again = world.sync()
    assert (again.code, again.counts) == (0, counts())


def test_an_older_version_whose_delete_failed_is_deleted_by_the_next_run(world: World) -> None:
    """Deleting w.txt locally deletes its current object and the older version the
    assistant wrote there. If deleting the older one fails, the path must not be forgotten
    (its base dropped with the current object gone), or the older one stays for ever."""
    world.write({f"keep{i}.txt": "k" for i in range(4)})
    assert world.sync().code == 0
    world.assistant_changes({"w.txt": "first"})
    world.assistant_changes({"w.txt": "second"})
    assert world.sync().code == 0 and world.local()["w.txt"] == "second"
    older = min((o for o in world.objects() if o["source"] == "assistant"),
                key=lambda o: o["created_at"])
    world.write({"w.txt": None})
    _fault(world, "DELETE", f"/files/{older['id']}$")
    failed = world.sync()
    assert failed.code == 1, failed.out
    clear_faults(world.server)
    healed = world.sync()
    assert healed.code == 0, healed.out
    assert [o for o in world.objects() if o["source"] == "assistant"] == []
    assert "w.txt" not in world.local()
    assert world.sync().counts == counts()


def test_a_conflict_whose_upload_failed_is_not_copied_again(world: World) -> None:
    """Both sides edited c.txt: the run saves the assistant's version as a conflict copy,
    then our upload fails. The next run must upload, not save a second copy of the same
    remote version (the soak found f3.conflict-…519 and …520 of one object)."""
    world.write({"c.txt": "v1", **{f"keep{i}.txt": "k" for i in range(4)}})
    assert world.sync().code == 0
    world.write({"c.txt": "mine"})
    world.assistant_changes({"c.txt": "theirs"})
    _fault(world, "POST", r"/files$")
    failed = world.sync()
    assert failed.code == 1, failed.out
    assert list(copies(world).values()) == ["theirs"]
    clear_faults(world.server)
    world.server.advance_clock(2)  # a later copy name, were one made
    healed = world.sync()
    assert healed.code == 0, healed.out
    assert healed.counts["conflicts"] == 0, healed.out  # no second copy, whatever its name
    assert list(copies(world).values()) == ["theirs"], world.local()
    assert world.local()["c.txt"] == "mine" and world.remote()["c.txt"] == "mine"
    assert world.sync().counts == counts()
