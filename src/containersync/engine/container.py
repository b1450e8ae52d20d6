"""Which container a mapping uses, and starting a new generation when it is gone.

Rules (SYNC_SEMANTICS "Safety rails" 4):
- A mapping with no container gets one created from its spec; a create is guarded by an
  intent so a crash between "created" and "recorded" adopts the container on the next run
  instead of creating a second one.
- An expired or vanished container is not a deletion: a new container is created and the
  index starts a new generation (every base loses its remote half, so the cycle re-seeds
  by uploading and deletes nothing).
- A container the user named by id is never recreated: its loss halts the mapping.
- A mapping whose state has never recorded a container (a new identity, or an index that
  was lost) first looks for the container it had: the one named by id, else the newest
  *running* container with the spec's name. It attaches to that one (``found=True``: the
  cycle rebuilds the bases from it) and creates a container only when there is none. So
  does a mapping whose recorded container is gone, with running containers of its name
  created after that one (an older copy of the index was restored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from containersync.api.wire import Container
from containersync.engine.context import MappingContext
from containersync.errors import ContainerGone, Halted
from containersync.index.records import MappingState
from containersync.model.kinds import IntentKind

GONE_STATUSES = frozenset({"expired", "deleted", "terminated", "failed"})
#: how far the server's clock may lag ours when looking for a container a crashed run made
CLOCK_SKEW_S = 300


@dataclass(frozen=True)
class Attached:
    """The container a cycle works against. ``container`` is None only in a dry run that
    would have to create one first."""

    container: Container | None
    generation: int
    new_generation: bool  # this run created or replaced the container
    #: the state had no container and an existing one was attached: rebuild from it
    found: bool = False


def is_gone(container: Container) -> bool:
    return container.status.lower() in GONE_STATUSES


def attach(ctx: MappingContext, *, now: Callable[[], datetime], dry_run: bool,
           known_gone: str | None = None) -> Attached:
    """Return the container to sync with, creating or replacing it when needed.
    ``known_gone``: a container a file route answered as gone (its object may not say so:
    live objects may lack ``status``)."""
    name = ctx.name
    state = _claim_state(ctx, dry_run=dry_run)
    wanted_id = ctx.settings.container_id
    current = state.container_id if state else None
    generation = state.generation if state else 0

    if wanted_id and wanted_id != current:
        adopted_now = _adopt(ctx, wanted_id, generation, dry_run=dry_run)
        return replace(adopted_now, found=current is None)

    after: int | None = None  # a replacement must be newer than the container it replaces
    if current:
        found = _retrieve(ctx, current)
        if found is not None and not is_gone(found) and found.id != known_gone:
            return Attached(found, generation, new_generation=False)
        after = found.created_at if found is not None else 0
        if state is not None and state.adopted:
            raise Halted(
                "container-gone",
                f"container {current} (set by id in the config) is "
                f"{found.status if found else 'gone'}; containersync does not recreate a "
                "container you named. Remove `id` to let it create one, or set a new id.",
            )
    adopted = _settle_create_intents(ctx, now=now, dry_run=dry_run)
    if adopted is not None:
        return adopted
    existing = _find_existing(ctx, generation, dry_run=dry_run, exclude=current, after=after)
    if existing is not None:
        return existing
    if dry_run:
        return Attached(None, generation + 1, new_generation=True)
    spec = ctx.spec_for_create()  # before the intent: a refusal leaves nothing to settle
    with ctx.index.write() as tx:
        intent = tx.add_intent(name, IntentKind.CREATE_CONTAINER, started_at=now().timestamp())
    created = ctx.client.create_container(spec)
    with ctx.index.write() as tx:
        tx.attach_container(name, created.id, created.name or spec.name,
                            adopted=False)
        tx.clear_intent(intent)
    new_state = ctx.index.mapping(name)
    return Attached(created, new_state.generation if new_state else generation + 1, True)


def _claim_state(ctx: MappingContext, *, dry_run: bool) -> MappingState | None:
    """The mapping's row, created (or a schema-1 row of its name claimed) for its identity."""
    state = ctx.index.mapping(ctx.name)
    if state is None and not dry_run:
        s = ctx.settings
        with ctx.index.write() as tx:
            tx.ensure_mapping(ctx.name, display_name=ctx.display_name,
                              local_root=s.identity_root, endpoint=s.endpoint)
        state = ctx.index.mapping(ctx.name)
    return state


def _find_existing(ctx: MappingContext, generation: int, *, dry_run: bool,
                   exclude: str | None = None, after: int | None = None) -> Attached | None:
    """The newest running container with the spec's name (other than ``exclude``, created
    after ``after`` when given), attached (not in a dry run). When the recorded container
    is gone, a newer running one of the name is what a run with a lost or older index
    created: it is found again instead of starting a third."""
    wanted = ctx.settings.container_spec.name
    running = [c for c in ctx.client.list_containers(name=wanted)
               if c.name == wanted and c.status.lower() == "running" and c.id != exclude
               and (after is None or c.created_at > after)]
    if not running:
        return None
    newest = max(running, key=lambda c: (c.created_at, c.id))
    if dry_run:
        return Attached(newest, generation + 1, new_generation=True, found=True)
    with ctx.index.write() as tx:
        tx.attach_container(ctx.name, newest.id, newest.name, adopted=False)
    state = ctx.index.mapping(ctx.name)
    return Attached(newest, state.generation if state else generation + 1,
                    new_generation=True, found=True)


def _retrieve(ctx: MappingContext, container_id: str) -> Container | None:
    try:
        return ctx.client.retrieve_container(container_id)
    except ContainerGone:
        return None


def _adopt(ctx: MappingContext, container_id: str, generation: int, *, dry_run: bool) -> Attached:
    found = _retrieve(ctx, container_id)
    if found is None or is_gone(found):
        raise Halted(
            "container-gone",
            f"container {container_id} named in the config is "
            f"{found.status if found else 'not found'}; set a running container's id, or "
            "remove `id` to let containersync create one.",
        )
    if dry_run:
        return Attached(found, generation + 1, new_generation=True)
    with ctx.index.write() as tx:
        tx.attach_container(ctx.name, found.id, found.name, adopted=True)
    state = ctx.index.mapping(ctx.name)
    return Attached(found, state.generation if state else generation + 1, True)


def _settle_create_intents(
    ctx: MappingContext, *, now: Callable[[], datetime], dry_run: bool
) -> Attached | None:
    """A crashed run may have created a container without recording it: adopt it."""
    pending = [i for i in ctx.index.intents(ctx.name) if i.kind == IntentKind.CREATE_CONTAINER]
    if not pending:
        return None
    earliest = min(i.started_at for i in pending) - CLOCK_SKEW_S
    state = ctx.index.mapping(ctx.name)
    old = state.container_id if state else None
    candidates = [
        c for c in ctx.client.list_containers(name=ctx.settings.container_spec.name)
        if c.id != old and c.created_at >= earliest and not is_gone(c)
    ]
    if dry_run:
        return None
    with ctx.index.write() as tx:
        for intent in pending:
            tx.clear_intent(intent.id)
        if not candidates:
            return None
        newest = max(candidates, key=lambda c: (c.created_at, c.id))
        tx.attach_container(ctx.name, newest.id, newest.name, adopted=False)
    state = ctx.index.mapping(ctx.name)
    return Attached(newest, state.generation if state else 1, new_generation=True)
