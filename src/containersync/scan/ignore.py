"""Which relative paths are left out of syncing, and which of those are held-back secrets.

Rules use gitignore syntax (``pathspec``) and come from four sources, later wins:
built-in defaults, the root's ``.gitignore`` (optional, root only), ``.containersyncignore``
in the local root, and the mapping's ``exclude`` list. A user ``!pattern`` re-includes
anything a default left out, with git's one restriction: nothing below an ignored
directory can be re-included (re-include the directory itself, e.g. ``!.aws/``).

Secrets are decided apart from the rest: the secret defaults and the config's ``exclude``
list alone, matched case-insensitively. A rule file lives in the synced folder, where the
sandbox's writes could reach it, so its ``!pattern`` never sends a secret.

Invariants:
- A path a secret default matches (in any case) is ``SECRET`` unless the config's
  ``exclude`` re-includes it; nothing in ``.gitignore``/``.containersyncignore`` changes that.
- This program's temporaries (``.containersync-tmp-*``) and conflict copies are always
  ignored, whatever the user writes (even ``!*``): they are never uploaded.
- ``ignored(rel)`` is true when ``rel`` or any folder above it is ignored, so it agrees
  with a scanner that does not descend into ignored folders.
- ``fingerprint`` changes exactly when the effective rules change (source and order).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from enum import IntEnum
from pathlib import Path

import pathspec

from containersync.config_methods import MAX_PATTERN_CHARS, MAX_PATTERNS
from containersync.errors import ConfigError
from containersync.model.paths import CONFLICT_MARK, is_conflict_copy

TEMP_PREFIX = ".containersync-tmp-"
IGNORE_FILE = ".containersyncignore"
#: a rule file within the pattern limits, with room for comments and multi-byte characters
MAX_RULE_FILE_BYTES = 4 * MAX_PATTERNS * (MAX_PATTERN_CHARS + 1)

DEFAULTS: dict[str, tuple[str, ...]] = {
    "default-vcs": (".git/", ".hg/", ".svn/"),
    "default-editor": ("*.swp", "*.swo", "*.swx", "4913", "*~", ".#*", r"\#*#",
                       "*___jb_tmp___", "*___jb_old___", ".*.kate-swp", ".idea/"),
    "default-cache": ("__pycache__/", ".pytest_cache/", "node_modules/", ".venv/",
                      ".mypy_cache/", ".DS_Store"),
    # matched in any case; each names a file that holds a credential, and none a common
    # data file (a JSON service-account key has no fixed name: only the usual ones are here)
    "default-secret": (
        ".env", ".env.*", "*.pem", "*.key", "*.p12", "*.pfx", "*.ppk",  # keys, certificates
        "id_rsa*", "id_ed25519*", "id_ecdsa*", "id_dsa*", ".ssh/", ".gnupg/",  # ssh, gpg
        ".netrc", ".npmrc", ".pypirc", ".git-credentials", ".pgpass", ".my.cnf", ".htpasswd",
        ".aws/", ".azure/", "**/.config/gcloud/", "application_default_credentials.json",
        "credentials.json", "client_secret*.json", "service-account*.json",
        "service_account*.json", ".s3cfg", ".vault-token",  # cloud and vault CLIs
        "**/.docker/config.json", "**/.kube/config", "kubeconfig",  # registries, clusters
        "*.keystore", "*.jks",  # Java and Android signing keystores
    ),
    "default-own": (TEMP_PREFIX + "*",
                    "*.conflict-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9]*"),
}
SECRET_SOURCE = "default-secret"
CONFIG_SOURCE = "exclude"  # the only source that may re-include a secret

_FLOATING = "^(?:.+/)?"
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


class Verdict(IntEnum):
    KEEP = 0
    IGNORED = 1
    SECRET = 2  # ignored by a secret default: "held back", logged once


def _is_rule(line: str) -> bool:
    return bool(line.strip()) and not line.startswith("#")


def _read_rules(path: Path) -> list[str]:
    """The lines of a rule file, held to the limits of the config's ``exclude``: one huge
    pattern cost ~30 s on every scan. Over a limit is a ``ConfigError`` naming the file and
    the line; the caller refuses to sync rather than sync with fewer rules."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not hang us
    except FileNotFoundError:
        return []
    except OSError as exc:
        try:
            with os.scandir(path.parent):
                pass
        except OSError:
            return []  # the root itself is unusable: the scan reports that, nothing syncs
        raise ConfigError(f"cannot read ignore file: {exc.strerror}", file=str(path)) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError("the ignore file is not a regular file", file=str(path),
                              fix="make it a text file of patterns, or remove it")
        data = b""
        while len(data) <= MAX_RULE_FILE_BYTES:
            chunk = os.read(fd, MAX_RULE_FILE_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > MAX_RULE_FILE_BYTES:
        raise ConfigError(f"the ignore file is larger than {MAX_RULE_FILE_BYTES} bytes",
                          file=str(path), fix="use broader patterns")
    lines = data.decode("utf-8", errors="replace").splitlines()
    rules = 0
    for number, line in enumerate(lines, 1):
        if not _is_rule(line):
            continue
        rules += 1
        if len(line) > MAX_PATTERN_CHARS:
            raise ConfigError(f"line {number} is {len(line)} characters long, more than "
                              f"{MAX_PATTERN_CHARS}: no path is that long", file=str(path),
                              fix="shorten it")
    if rules > MAX_PATTERNS:
        raise ConfigError(f"holds {rules} patterns, more than {MAX_PATTERNS}", file=str(path),
                          fix="use broader patterns")
    return lines


class _Matcher:
    """One ``GitIgnoreSpec``: ``last(rel, slash)`` is the index of the rule that decides
    ``rel`` when it ignores it, else None. ``fold``: match in any case (rules and paths are
    lowered). ``base_parts``/``full_parts`` feed the cheap prefilter (``_prefilter``)."""

    def __init__(self, lines: list[str], *, fold: bool = False) -> None:
        self._fold = fold
        if fold:
            lines = [line.lower() for line in lines]
        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)
        if len(self._spec.patterns) != len(lines):
            raise ConfigError("pathspec dropped ignore rules unexpectedly")
        self.base_parts: list[str] = []
        self.full_parts: list[str] = []
        for line, pat in zip(lines, self._spec.patterns, strict=True):
            regex = getattr(pat, "regex", None)
            if pat.include is not True or regex is None:
                continue
            text = _NAMED_GROUP.sub("(?:", regex.pattern)
            core = line.rstrip("/")
            if text.startswith(_FLOATING) and "/" not in core and "**" not in core:
                text, parts = text[len(_FLOATING):], self.base_parts
            else:
                parts = self.full_parts
            parts.append(f"(?i:{text})" if fold else f"(?:{text})")

    def last(self, rel: str, slash: str) -> int | None:
        result = self._spec.check_file((rel.lower() if self._fold else rel) + slash)
        if result.include is not True or result.index is None:
            return None
        return int(result.index)


def _prefilter(parts: list[str]) -> re.Pattern[str] | None:
    """Combined regexes that say cheaply whether any *ignoring* rule can match.

    Rules without an inner ``/`` match on the last segment alone, so they are tried on the
    name; the others on the whole path. Only a hit pays for pathspec's exact, last-match-wins
    evaluation.
    """
    return re.compile("|".join(parts)) if parts else None


class IgnoreRules:
    """The effective ignore rules of one mapping. Build with ``IgnoreRules.load``."""

    def __init__(self, sources: Iterable[tuple[str, Iterable[str]]]) -> None:
        lines: list[str] = []
        self._sources: list[str] = []
        for source, rules in sources:
            for line in rules:
                line = line.rstrip("\r\n")
                if _is_rule(line):
                    lines.append(line)
                    self._sources.append(source)
        self._lines = lines
        self.fingerprint = hashlib.sha256(
            "\n".join(f"{src}\t{line}" for src, line in zip(self._sources, lines, strict=True)).encode()
        ).hexdigest()
        pairs = list(zip(self._sources, lines, strict=True))
        self._general = _Matcher([line for src, line in pairs if src != SECRET_SOURCE])
        # secrets: the secret defaults, then only the config's rules, in any case
        secret = [line for src, line in pairs if src == SECRET_SOURCE]
        self._secret_count = len(secret)
        self._secret = _Matcher(secret + [line for src, line in pairs if src == CONFIG_SOURCE],
                                fold=True)
        self._base_rx = _prefilter(self._secret.base_parts + self._general.base_parts)
        self._path_rx = _prefilter(self._secret.full_parts + self._general.full_parts)
        self._dir_cache: dict[str, Verdict] = {}

    @classmethod
    def load(cls, root: Path | str, exclude: Sequence[str] = (),
             use_gitignore: bool = False) -> IgnoreRules:
        """Defaults, then ``.gitignore`` (if asked), ``.containersyncignore``, ``exclude``."""
        root = Path(root)
        sources: list[tuple[str, Iterable[str]]] = list(DEFAULTS.items())
        if use_gitignore:
            sources.append(("gitignore", _read_rules(root / ".gitignore")))
        sources.append(("containersyncignore", _read_rules(root / IGNORE_FILE)))
        sources.append(("exclude", exclude))
        return cls(sources)

    def classify(self, rel: str, is_dir: bool = False, *, ancestors: bool = True) -> Verdict:
        """The verdict for ``rel``. ``ancestors=False`` skips the folders above it (the
        scanner's walk has already decided those)."""
        head, _, name = rel.rpartition("/")
        if name.startswith(TEMP_PREFIX) or (CONFLICT_MARK in name and is_conflict_copy(name)):
            return Verdict.IGNORED
        if ancestors and head:
            verdict = self._dir_verdict(head)
            if verdict is not Verdict.KEEP:
                return verdict
        return self._own_verdict(rel, name, is_dir)

    def _own_verdict(self, rel: str, name: str, is_dir: bool) -> Verdict:
        slash = "/" if is_dir else ""
        if not ((self._base_rx is not None and self._base_rx.match(name + slash))
                or (self._path_rx is not None and self._path_rx.match(rel + slash))):
            return Verdict.KEEP
        hit = self._secret.last(rel, slash)
        if hit is not None and hit < self._secret_count:
            return Verdict.SECRET
        if self._general.last(rel, slash) is not None:
            return Verdict.IGNORED
        return Verdict.KEEP

    def _dir_verdict(self, rel_dir: str) -> Verdict:
        cached = self._dir_cache.get(rel_dir)
        if cached is None:
            cached = self.classify(rel_dir, is_dir=True)
            self._dir_cache[rel_dir] = cached
        return cached

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """True if ``rel`` is left out of syncing (by any rule, or a folder above it)."""
        return self.classify(rel, is_dir) is not Verdict.KEEP

    def is_secret(self, rel: str, is_dir: bool = False) -> bool:
        """True if ``rel`` is held back by a secret default (and not re-included)."""
        return self.classify(rel, is_dir) is Verdict.SECRET

    @property
    def rules(self) -> list[tuple[str, str]]:
        """The effective rules as ``(source, pattern)``, in evaluation order."""
        return list(zip(self._sources, self._lines, strict=True))
