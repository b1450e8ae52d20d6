"""Running a mapping's cycle to the end: a container that goes away mid-cycle is replaced
(a new generation) and the cycle runs again, once; everything else propagates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from containersync.engine.context import MappingContext
from containersync.engine.cycle import CycleOptions, run_cycle
from containersync.engine.summary import CycleReport
from containersync.errors import ContainerGone


def sync_mapping(
    ctx: MappingContext, opts: CycleOptions, *, now: Callable[[], datetime]
) -> CycleReport:
    try:
        return run_cycle(ctx, opts, now=now)
    except ContainerGone as exc:
        if opts.dry_run:
            raise
        # the next attach takes the container as gone (even when its object says nothing,
        # as a live object without ``status`` does) and starts a new generation
        return run_cycle(ctx, replace(opts, gone_container=exc.container_id), now=now)
