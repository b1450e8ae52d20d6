"""A cycle's report counts the requests sent for that cycle, not for other mappings that
share its client (``api.counting``): in a daemon every mapping uses one client.

Mappings ``a`` and ``b`` of one config, so one session and one client, against the real
local backend. ``b``'s no-op cycle is held in its planning hook while ``a`` runs a whole
cycle of uploads on another thread, so every request of ``a`` is sent while ``b``'s cycle
is under way; ``b`` still reports what its cycle costs alone.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from containersync.config import parse_config
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.session import open_session
from containersync.engine.summary import CycleReport
from containersync.localapi.embedded import RunningServer
from containersync.model.plan import Plan


def now() -> datetime:
    return datetime.now(UTC)


def test_a_cycle_counts_its_own_requests_while_another_mapping_works(
        tmp_path: Path, local_server: RunningServer) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    (tmp_path / "b" / "keep.txt").write_text("b's only file")
    text = (f'[api]\nbase_url = "{local_server.base_url}"\napi_key_env = "K"\n'
            f'[state]\ndir = "{tmp_path / "state"}"\n'
            f'[[mappings]]\nname = "a"\nlocal = "{tmp_path / "a"}"\n'
            f'[[mappings]]\nname = "b"\nlocal = "{tmp_path / "b"}"\n')
    cfg = parse_config(text, file=tmp_path / "c.toml", env={})
    session = open_session(cfg, env={"K": "sk-test"})
    try:
        ma, mb = cfg.mappings
        b = session.context(mb, session.open_index())
        run_cycle(b, CycleOptions(), now=now)  # b's container and its one upload
        alone = run_cycle(b, CycleOptions(), now=now).requests  # a no-op cycle of b

        a_reports: list[CycleReport] = []

        def a_cycle() -> None:
            a = session.context(ma, session.open_index())  # an index connection per thread
            for i in range(20):
                (tmp_path / "a" / f"f{i}.txt").write_text(f"a's file {i}")
            a_reports.append(run_cycle(a, CycleOptions(), now=now))

        def while_b_plans(_plan: Plan) -> None:
            worker = threading.Thread(target=a_cycle)
            worker.start()
            worker.join(120)

        before = session.client.requests_made
        b_report = run_cycle(b, CycleOptions(on_plan=while_b_plans), now=now)
        total = session.client.requests_made - before
    finally:
        session.close()
    [a_report] = a_reports
    assert a_report.requests > 20  # a container and twenty uploads at least
    assert b_report.requests == alone
    assert a_report.requests + b_report.requests == total
