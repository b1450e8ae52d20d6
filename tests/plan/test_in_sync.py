"""The fast path of a full cycle: a path unchanged on both sides (``in_sync``) gets no
decision object and no digest read, and that changes no plan (issue 9).

Random two-sided changes (``test_reconcile_properties.scenarios``), every mode:
1. every path ``in_sync`` says needs nothing is one ``decide`` plans nothing for;
2. planning with only the digests ``digest_wanted`` names gives the plan that every known
   digest gives, so the cycle reads just those from the index.
"""

from __future__ import annotations

from hypothesis import given, settings
from simworld import NOW
from test_reconcile_properties import Scenario, build, scenarios

from containersync.plan.decide import NOTHING, Sides, classify_local, classify_remote, decide
from containersync.plan.reconcile import digest_wanted, in_sync, reconcile


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_a_path_in_sync_is_one_decide_plans_nothing_for(s: Scenario) -> None:
    w = build(s)
    view, local = w.view(), w.local_files()
    for path in {*w.base, *local, *view.files}:
        b, lf, rf = w.base.get(path), local.get(path), view.files.get(path)
        if not in_sync(path, b, lf, rf, view):
            continue
        sides = Sides(path=path, base=b, local=lf, remote=rf,
                      local_state=classify_local(b, lf), remote_state=classify_remote(b, rf),
                      remote_digest=w.digests.get(rf.file_id) if rf else None)
        assert decide(sides, s.mode) == NOTHING, path
        plan = reconcile(w.base, local, view, s.mode, now=NOW, digests=w.digests)
        assert path in plan.decided
        assert not [a for a in plan.actions if a.path == path]


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_the_digests_wanted_plan_what_every_digest_plans(s: Scenario) -> None:
    w = build(s)
    view, local = w.view(), w.local_files()
    wanted = digest_wanted(w.base, local, view)
    some = {fid: sha for fid, sha in w.digests.items() if fid in wanted}
    assert (reconcile(w.base, local, view, s.mode, now=NOW, digests=some)
            == reconcile(w.base, local, view, s.mode, now=NOW, digests=w.digests))

