"""Remote objects that cannot be pulled are reported, once, with what the user can do;
never dropped silently. And every problem line is printed once.

Each row: a local setup, what the assistant writes, the notice expected (kind, local path,
a phrase of the advice), and the local tree afterwards. The first sync prints the notice
once; the next prints nothing new and exits 0 (retrying cannot change it); ``--json``
still lists it, so ``status`` and scripts see it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from containersync.localapi.embedded import RunningServer
from support.backend import add_assistant_file, inject_fault
from support.scenario import World, counts

NFC, NFD = "caf\u00e9.txt", "cafe\u0301.txt"


@dataclass
class Case:
    setup: Callable[[World], None]
    sandbox: Callable[[World], None]
    kind: str
    path: str
    advice: str
    local: dict[str, str] = field(default_factory=dict)


def _nothing(w: World) -> None:
    pass


def _links(w: World) -> None:
    w.write({"real.txt": "r"})
    (w.root / "realdir").mkdir()
    os.symlink("real.txt", w.root / "link.txt")
    os.symlink("realdir", w.root / "linkdir")


def _folder_p(w: World) -> None:
    w.write({"p/inner.txt": "i"})


def _assistant_files(*files: tuple[str, str]) -> Callable[[World], None]:
    def write(w: World) -> None:
        w.server.advance_clock(1)
        for path, content in files:
            add_assistant_file(w.server, w.cid, f"/mnt/data/{path}", content.encode())
            w.server.advance_clock(1)
    return write


CASES = {
    "nfc-nfd-pair": Case(_nothing, _assistant_files((NFC, "composed"), (NFD, "decomposed")),
                         "name-collision", NFC, "rename the others in the sandbox",
                         {NFC: "decomposed"}),
    "conflict-copy-name": Case(_nothing, _assistant_files(("x.conflict-20261123-101500.txt",
                                                           "out")),
                               "conflict-copy-name", "x.conflict-20261123-101500.txt",
                               "rename it in the sandbox"),
    "file-at-a-symlink": Case(_links, _assistant_files(("link.txt", "from the sandbox")),
                              "blocked-by-symlink", "link.txt", "remove or rename the link",
                              {"real.txt": "r"}),
    "file-below-a-symlinked-folder": Case(_links, _assistant_files(("linkdir/new.txt", "n")),
                                          "blocked-by-symlink", "linkdir/new.txt",
                                          "'linkdir' is a symbolic link", {"real.txt": "r"}),
    "file-against-a-local-folder": Case(_folder_p, _assistant_files(("p", "a file")),
                                        "folder-in-the-way", "p", "is a folder here",
                                        {"p/inner.txt": "i"}),
    "file-and-child-in-the-listing": Case(_nothing, _assistant_files(("x.txt", "the file"),
                                                                     ("x.txt/child", "c")),
                                          "file-under-file", "x.txt/child", "the file wins",
                                          {"x.txt": "the file"}),
}


def lines_about(text: str, path: str) -> list[str]:
    return [line for line in text.splitlines() if f" {path}: " in line]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_object_that_cannot_be_pulled_is_reported_once(
        local_server: RunningServer, tmp_path: Path, case: Case) -> None:
    w = World(local_server, tmp_path)
    w.write({"seed.txt": "s"})
    assert w.sync().code == 0
    case.setup(w)
    case.sandbox(w)

    first = w.sync(json_out=False)
    assert first.code == 0, first.out + first.err
    said = [line for line in lines_about(first.out + first.err, case.path)
            if case.advice in line]
    assert len(said) == 1, first.out + first.err
    assert ": note: " in said[0]

    again = w.sync(json_out=False)
    assert again.code == 0 and lines_about(again.out + again.err, case.path) == [], again.out

    listed = w.sync()
    assert listed.code == 0 and listed.counts == counts()
    assert [(p["kind"], p["path"]) for p in listed.m["problems"]
            if p["kind"] == case.kind] == [(case.kind, case.path)]
    assert w.local() == {"seed.txt": "s", **case.local}


def test_a_failed_action_is_printed_once(local_server: RunningServer, tmp_path: Path) -> None:
    w = World(local_server, tmp_path)
    w.write({"seed.txt": "s"})
    assert w.sync().code == 0
    w.write({"refused.txt": "r"})
    inject_fault(local_server, method="POST", path_regex=r"/containers/[^/]+/files$",
                 status=400, times=10)
    result = w.sync(json_out=False)
    assert result.code == 1
    said = [line for line in (result.out + result.err).splitlines() if "refused.txt" in line]
    assert len(said) == 1 and "problem" in said[0], result.out + result.err
