"""Names that trip up sync tools: spaces, Unicode in NFC and NFD, control characters,
very long names, names starting with ``-``; made locally and by the assistant.

model/paths.py decides: NFC everywhere; newline/tab/control characters and backslashes are
rejected as a per-path problem (exit 1, the rest still syncs, never a crash); everything
printable syncs. The sandbox (``local exec``, like the backend) never records a remote name
with a control character, so on the remote side the hostile case is a backslash.
"""

from __future__ import annotations

import unicodedata

from support.scenario import World, counts

NFC = unicodedata.normalize("NFC", "café ünï 日本.txt")
NFD = unicodedata.normalize("NFD", "résumé.md")
LONG = "L" * 200 + ".txt"
GOOD_LOCAL = {"with space.txt": "s", " leading and trailing .txt": "lt", NFC: "nfc",
              "-dash.txt": "d", "--help": "h", "sub dir/-x y.txt": "sx",
              LONG: "long"}


def nfc(files: dict[str, str]) -> dict[str, str]:
    return {unicodedata.normalize("NFC", k): v for k, v in files.items()}


def test_local_odd_names_sync_and_control_characters_are_problems(world: World) -> None:
    world.write(GOOD_LOCAL)
    world.write({"bad\nname.txt": "nl", "tab\there": "tab"})
    result = world.sync()
    assert result.code == 1, result.err
    assert result.m["uploaded"] == len(GOOD_LOCAL)
    problems = {p["path"]: p["kind"] for p in result.m["problems"]}
    assert len(problems) == 2, result.m["problems"]
    assert all("name" in p["path"] or "tab" in p["path"] for p in result.m["problems"])
    assert world.remote() == nfc(GOOD_LOCAL)
    # the unsyncable files are left alone locally
    assert (world.root / "bad\nname.txt").read_text() == "nl"
    again = world.sync()
    assert (again.code, again.counts) == (1, counts())


def test_local_nfd_name_is_uploaded_under_its_nfc_name(world: World) -> None:
    world.write({NFD: "nfd", "plain.txt": "p"})
    result = world.sync()
    assert result.code == 0, result.m["problems"]
    assert world.remote() == nfc({NFD: "nfd", "plain.txt": "p"})
    assert world.sync().counts == counts()
    # the assistant rewrites it: the file on disk is replaced under its own (NFD) spelling,
    # not doubled by an NFC sibling
    world.assistant_changes({unicodedata.normalize("NFC", NFD): "new"})
    pulled = world.sync()
    assert (pulled.code, pulled.m["downloaded"]) == (0, 1), pulled.m["problems"]
    assert sorted(p.name for p in world.root.iterdir()) == sorted([NFD, "plain.txt"])
    assert (world.root / NFD).read_text() == "new"


def test_assistant_odd_names_are_pulled_and_unsafe_ones_refused(world: World) -> None:
    assert world.sync().code == 0
    done = world.assistant("set -e; printf s > 'remote space.txt'; printf d > ./-r.txt; "
                           f"printf nfd > '{NFD}'; mkdir -- '-dir'; printf x > ./-dir/--y; "
                           f"printf l > '{LONG}'; printf nl > 'evil\nname'; "
                           "printf bs > 'back\\slash'")
    # the sandbox itself never records a name with a control character
    assert "evil\\nname' ignored" in done.stderr
    result = world.sync()
    assert result.code == 1, result.err
    want = nfc({"remote space.txt": "s", "-r.txt": "d", NFD: "nfd", "-dir/--y": "x",
                LONG: "l"})
    assert world.local() == want
    assert [(p["kind"], p["path"]) for p in result.m["problems"]] == [
        ("unsafe-remote-path", "/mnt/data/back\\slash")]
    assert "backslash" in result.m["problems"][0]["message"]
    again = world.sync()  # stable: the NFD remote name and its NFC local copy agree
    assert (again.code, again.counts) == (1, counts())
    assert world.local() == want
