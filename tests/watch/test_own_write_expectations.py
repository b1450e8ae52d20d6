"""``OwnWrites`` decides on real files in a temp dir, with a clock the test moves."""

from __future__ import annotations

from pathlib import Path

from containersync.watch.own_writes import ABSENT, NEW_FOLDER, NOTHING, Fingerprint, OwnWrites


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_ours_only_while_the_path_is_as_we_wrote_it_and_until_the_deadline(
        tmp_path: Path) -> None:
    clock = Clock()
    own = OwnWrites(tmp_path, clock)
    f = tmp_path / "a.txt"
    f.write_text("ours")
    own.expect("a.txt", 10.0, Fingerprint.of(f.lstat()))
    own.expect("gone.txt", 10.0, ABSENT)
    assert own.is_own("a.txt") and own.is_own("gone.txt")
    assert not own.is_own("other.txt")  # nothing expected there
    (tmp_path / "gone.txt").write_text("the user made it again")
    assert not own.is_own("gone.txt")
    f.write_text("the user's edit")
    assert not own.is_own("a.txt")
    f.unlink()
    assert not own.is_own("a.txt")  # deleted by the user: not what we wrote


def test_expired_expectations_are_dropped_once_per_deadline(tmp_path: Path) -> None:
    clock = Clock()
    own = OwnWrites(tmp_path, clock)
    for i in range(100):
        own.expect(f"f{i}", 10.0 + i, ABSENT)
    assert len(own) == 100 and own.is_own("f0")
    clock.t = 10.0
    assert not own.is_own("f0") and len(own) == 99
    clock.t = 59.5
    assert own.is_own("f50") and len(own) == 50
    clock.t = 1000.0
    assert not own.is_own("f99") and len(own) == 0


def test_a_folder_we_are_making_is_ours_before_and_after_its_inode_is_known(
        tmp_path: Path) -> None:
    """Declared before the ``mkdir`` (``NEW_FOLDER``: any folder there), then by inode; a
    withdrawal (``NOTHING``: someone else's folder was there) keeps a resolved inode, so a
    second download racing for the same new folder does not undo the first one's."""
    own = OwnWrites(tmp_path, Clock())
    own.expect("new", 10.0, NEW_FOLDER)
    assert not own.is_own("new")  # not made yet: nothing there to be ours
    (tmp_path / "new").mkdir()
    assert own.is_own("new")
    own.expect("new", 10.0, Fingerprint.of((tmp_path / "new").lstat()))
    own.expect("new", 10.0, NOTHING)  # the other download's mkdir found ours there
    assert own.is_own("new")
    (tmp_path / "new").rename(tmp_path / "aside")  # kept, so its inode is not reused
    (tmp_path / "new").mkdir()  # the user's folder, another inode
    assert not own.is_own("new")

    own.expect("theirs", 10.0, NEW_FOLDER)
    (tmp_path / "theirs").mkdir()  # someone else's, made first: our mkdir failed
    own.expect("theirs", 10.0, NOTHING)
    assert not own.is_own("theirs") and len(own) == 1
    (tmp_path / "file").write_text("x")
    own.expect("file", 10.0, NEW_FOLDER)
    assert not own.is_own("file")  # a file is not the folder we are making


def test_a_path_that_cannot_be_looked_at_is_never_ours_and_raises_nothing(
        tmp_path: Path) -> None:
    # the check runs on watchdog's reading thread, where an error ended the thread; a path
    # too long for the kernel (ENAMETOOLONG) is one a sandbox can make a download land at
    own = OwnWrites(tmp_path, clock=lambda: 0.0)
    long = "/".join(["d" * 250] * 20)
    real = tmp_path / "f"
    real.write_bytes(b"x")
    own.expect(long, 60.0, Fingerprint.of(real.lstat()))
    own.expect(long + "/gone", 60.0, ABSENT)
    assert not own.is_own(long)
    assert not own.is_own(long + "/gone")  # not known to be absent either
