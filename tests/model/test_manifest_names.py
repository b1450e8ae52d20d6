"""``is_manifest_path`` answers from the name's end first (a listing asks it of every
object): the answer is the rule's, a manifest name directly under the remote root, plain
or with the server's ``<32 hex>-`` prefix, on generated paths."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from containersync.model.manifest import MANIFEST_NAME, is_manifest_path

HEX = "0123456789abcdef"
ROOTS = st.sampled_from(["/mnt/data", "/mnt/data/", "/", "/mnt/data/sub"])
NAMES = st.one_of(
    st.just(MANIFEST_NAME),
    st.text(HEX, min_size=31, max_size=33).map(lambda h: f"{h}-{MANIFEST_NAME}"),
    st.sampled_from(["a.txt", f"x{MANIFEST_NAME}", f"{MANIFEST_NAME}.bak",
                     MANIFEST_NAME.upper(), f"{'A' * 32}-{MANIFEST_NAME}"]),
)


def by_the_rule(path: str, root: str) -> bool:
    prefix = root.rstrip("/") + "/"
    rest = path[len(prefix):] if path.startswith(prefix) else None
    return rest is not None and re.fullmatch(
        r"(?:[0-9a-f]{32}-)?" + re.escape(MANIFEST_NAME), rest) is not None


@given(ROOTS, st.lists(st.sampled_from(["mnt", "data", "sub", "d0"]), max_size=3), NAMES,
       ROOTS)
def test_a_manifest_path_is_one_by_the_rule(listed_under: str, folders: list[str],
                                            name: str, root: str) -> None:
    path = "/".join([listed_under.rstrip("/"), *folders, name])
    assert is_manifest_path(path, root) == by_the_rule(path, root)
