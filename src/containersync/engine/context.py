"""Everything one mapping's cycle needs, gathered once: values from the config and live parts.

The core never sees the whole config (STYLE.md 8): ``MappingSettings`` carries the values a
cycle uses, and ``MappingContext`` adds the parts with side effects (API client, index, trash,
ignore rules). Building a context does no I/O beyond loading the ignore files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from containersync.api.client import ContainersClient
from containersync.api.wire import ContainerSpec
from containersync.errors import ConfigError
from containersync.execute.trash import Trash
from containersync.index.store import Index
from containersync.model.entry import Mode
from containersync.scan.ignore import CONFIG_SOURCE, DEFAULTS, IGNORE_FILE, IgnoreRules
from containersync.watch.own_writes import Expected

#: the files in the local root that rules are read from
RULE_FILES = (IGNORE_FILE, ".gitignore")


@dataclass(frozen=True)
class MappingSettings:
    """The values of one ``[[mappings]]`` entry that a cycle acts on."""

    name: str
    local_root: Path
    mode: Mode
    remote_root: str
    exclude: tuple[str, ...]
    use_gitignore: bool
    pull_sources: frozenset[str]
    container_spec: ContainerSpec
    container_id: str | None  # an adopted container (explicit id): never recreated
    #: ``api.concurrency``: threads reading a full listing's segments (transfers use the
    #: client's adaptive window, bounded by the same setting)
    concurrency: int = 8
    honour_paths: bool = True  # send the seed-003 ``path`` field on upload
    max_delete_fraction: float = 0.5
    #: the identity the state belongs to (``config.mapping_identity``): ``key`` names the
    #: index row and the lock; ``name`` above is only the config's handle for it
    key: str = ""
    identity_root: str | None = None
    endpoint: str | None = None


@dataclass
class MappingContext:
    """A mapping's settings plus the live parts its cycles use."""

    settings: MappingSettings
    client: ContainersClient
    index: Index
    trash: Trash
    rules: IgnoreRules
    #: called with a relative path and what it will look like (``watch.own_writes``) just
    #: before the executor's write or removal lands, so a watcher can tell our events apart
    on_local_write: Callable[[str, Expected], None] = field(default=lambda _rel, _exp: None)
    #: a rule file that cannot be used (over the limits, unreadable): cycles refuse to run
    #: while it stands (``run_cycle``); ``rules`` then only serve the watcher
    rules_error: ConfigError | None = None
    #: the container spec's inline skills or domain secrets could not be read: cycles
    #: refuse to run (``ensure_spec``) until ``build_spec`` succeeds
    spec_error: ConfigError | None = None
    build_spec: Callable[[], ContainerSpec] | None = None
    #: the rule files' ``rule_stamp`` taken just before ``rules`` were read from them
    rules_stamp: RuleStamp | None = None

    @property
    def name(self) -> str:
        """The index key of this mapping's state (every index call uses it)."""
        return self.settings.key or self.settings.name

    @property
    def display_name(self) -> str:
        """The config's name for the mapping: what the user sees."""
        return self.settings.name

    def ensure_spec(self) -> None:
        """Raise the spec's ``ConfigError`` unless building it again now succeeds (the
        folder was fixed, the credential appeared); on success the settings carry it."""
        if self.spec_error is None:
            return
        try:
            spec = self.build_spec() if self.build_spec is not None else None
        except ConfigError as exc:
            self.spec_error = exc
            raise
        if spec is None:
            raise self.spec_error
        self.settings = replace(self.settings, container_spec=spec)
        self.spec_error = None

    def spec_for_create(self) -> ContainerSpec:
        """The spec as it is now, just before a container is created: skill folders and
        secrets are read again, so an edited skill or a rotated credential applies to the
        next container made (a ``ConfigError`` when one cannot be read any more)."""
        if self.build_spec is not None:
            try:
                spec = self.build_spec()
            except ConfigError as exc:
                self.spec_error = exc
                raise
            self.settings = replace(self.settings, container_spec=spec)
        return self.settings.container_spec

    def reload_rules(self) -> None:
        self.rules_stamp = rule_stamp(self.settings.local_root)
        self.rules, self.rules_error = load_rules(self.settings, self.rules)

    def refresh_rules(self) -> None:
        """Read the rules again if a rule file changed since they were read (a full cycle
        asks: an edit whose watcher event was lost must still apply)."""
        if rule_stamp(self.settings.local_root) != self.rules_stamp:
            self.reload_rules()


#: per rule file, the (inode, size, mtime_ns, ctime_ns) of the name and of what it leads
#: to (the rules are read through a link), None for either that is absent or unreadable
Stat = tuple[int, int, int, int] | None
RuleStamp = tuple[tuple[Stat, Stat], ...]


def rule_stamp(root: Path) -> RuleStamp:
    """What the rule files in ``root`` look like now (an edit changes the ctime at least),
    both the name (a link swapped) and the file it leads to (a link's target edited)."""
    def one(name: str, follow: bool) -> Stat:
        try:
            st = os.stat(root / name, follow_symlinks=follow)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return tuple((one(name, False), one(name, True)) for name in RULE_FILES)


def load_rules(s: MappingSettings, previous: IgnoreRules | None = None
               ) -> tuple[IgnoreRules, ConfigError | None]:
    """The mapping's ignore rules, or, when a rule file cannot be used, the error and rules
    to watch by meanwhile (the previous ones, else the defaults and ``exclude``): never a
    sync with fewer rules than the user wrote, since that could upload what they hold back."""
    try:
        return IgnoreRules.load(s.local_root, s.exclude, use_gitignore=s.use_gitignore), None
    except ConfigError as exc:
        fallback = IgnoreRules([*DEFAULTS.items(), (CONFIG_SOURCE, s.exclude)])
        return previous or fallback, exc
