"""Mappings acting at once share their client's transfer threads (``api.pool``).

Four executors on one client (``api.concurrency`` 2) run their plans at the same time, as
four mappings of a daemon do in its cycle slots. Once each has finished its transfers, and
before any returns, every thread they started is counted: there are never more than the
client's concurrency, however many executors (mappings) there are. Against the real local
backend; the executors run on threads of their own, as the daemon's cycles do.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.execute.executor import Executor, Finished, Target
from containersync.execute.trash import Trash
from containersync.localapi.embedded import RunningServer
from containersync.model.entry import LocalFile
from containersync.model.plan import Action, Upload
from containersync.scan.digest import sha256_file
from support.executing import Collect

MAPPINGS, FILES, CONCURRENCY = 4, 3, 2


def _transfer_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("transfer")}


def _uploads(root: Path) -> list[Action]:
    root.mkdir()
    actions: list[Action] = []
    for i in range(FILES):
        path = root / f"f{i}.txt"
        path.write_text(f"file {i} of {root.name}")
        st = path.stat()
        actions.append(Upload(path.name, LocalFile(path.name, st.st_size, st.st_mtime_ns,
                                                   sha256_file(path))))
    return actions


def test_mappings_acting_at_once_never_start_more_threads_than_the_concurrency(
        tmp_path: Path, local_server: RunningServer) -> None:
    before = _transfer_threads()
    seen: list[int] = []
    all_done = threading.Barrier(
        MAPPINGS, action=lambda: seen.append(len(_transfer_threads() - before)), timeout=60)
    errors: list[BaseException] = []
    with ContainersClient.connect(local_server.base_url, None, max_retries=0,
                                  max_connections=CONCURRENCY) as client:
        cid = client.create_container(ContainerSpec(name="shared")).id

        def mapping(n: int) -> None:
            root = tmp_path / f"m{n}"
            actions = _uploads(root)
            executor = Executor(Target(f"m{n}", root, cid, f"/mnt/data/m{n}", True), client,
                                Trash(tmp_path / f"trash{n}", 1),
                                now=lambda: datetime.now(UTC))

            def done(_batch: Sequence[Finished]) -> None:
                if len(collect.finished) == FILES:  # every transfer of this mapping finished
                    all_done.wait()

            collect = Collect(done)
            try:
                executor.run(actions, step=collect)
                assert [o.kind for o in collect.outcomes] == ["uploaded"] * FILES
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=mapping, args=(n,)) for n in range(MAPPINGS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors, errors
    assert len(seen) == 1
    assert 1 <= seen[0] <= CONCURRENCY
