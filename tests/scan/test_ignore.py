"""Ignore rules: defaults (secrets included), user sources in order, and what can't be undone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from containersync.errors import ConfigError
from containersync.scan.ignore import IgnoreRules

DEFAULT_IGNORED = [
    (".git", True), (".git/config", False), ("sub/.hg/store", False), (".svn", True),
    ("notes.txt.swp", False), (".notes.txt.swo", False), ("4913", False), ("draft.md~", False),
    (".#draft.md", False), ("#draft.md#", False), ("a.py___jb_tmp___", False),
    (".x.kate-swp", False), (".idea", True), ("pkg/__pycache__/m.pyc", False),
    ("web/node_modules/x/index.js", False), (".venv/bin/python", False), (".DS_Store", False),
    (".containersync-tmp-abc123", False), ("d/report.conflict-20261123-101500.csv", False),
    ("d/report.conflict-20261123-101500-2.csv", False),
]
SECRETS = [".env", "app/.env.production", "tls/server.pem", "server.key", "id_rsa",
           "id_rsa.pub", "id_ed25519", ".netrc", ".npmrc", ".pypirc", ".aws/credentials",
           "home/.ssh/config", "cert.p12", "cert.pfx"]
#: held back whatever their case, and the common credential files (issue 8, finding 2)
MORE_SECRETS = [".ENV", "ID_RSA", "Server.PEM", "app/.Env.Local", "keys/Deploy.KEY",
                ".git-credentials", ".docker/config.json", "home/.docker/config.json",
                ".kube/config", "ops/.kube/config", "kubeconfig", "credentials.json",
                "gcp/credentials.json", "client_secret_123.apps.googleusercontent.com.json",
                "service-account.json", "deploy/service_account-prod.json",
                "application_default_credentials.json", ".config/gcloud/credentials.db",
                ".azure/msal_token_cache.json", ".gnupg/private-keys-v1.d/x.key",
                "android/release.keystore", "app/signing.JKS", "putty.ppk", "id_ecdsa",
                "id_dsa", ".pgpass", ".my.cnf", ".htpasswd", ".vault-token", ".s3cfg"]
KEPT = ["README.md", "src/main.py", "environment.yml", "notes/.envelope", "keys/public.txt",
        "name with spaces.txt", "日本語.txt", "report.csv", "git/file", "a.conflict-notes.txt",
        # ordinary data files near the credential names: not held back
        "config.json", "docker/config.json", "kube/config", ".docker/daemon.json",
        ".kube/cache/x.json", "credentials.md", "credentials.json.example.txt",
        "data/accounts.json", "keystore.py", "src/jks_tools.py", "secrets.md", "monkey.py",
        "key.txt", "pem/readme.txt", "envrc.md", ".environment"]


@pytest.fixture
def defaults(tmp_path: Path) -> IgnoreRules:
    return IgnoreRules.load(tmp_path)


@pytest.mark.parametrize(("rel", "is_dir"), DEFAULT_IGNORED)
def test_defaults_ignore(defaults: IgnoreRules, rel: str, is_dir: bool) -> None:
    assert defaults.ignored(rel, is_dir)
    assert not defaults.is_secret(rel, is_dir)


@pytest.mark.parametrize("rel", SECRETS)
def test_secrets_are_held_back(defaults: IgnoreRules, rel: str) -> None:
    assert defaults.ignored(rel)
    assert defaults.is_secret(rel)


@pytest.mark.parametrize("rel", MORE_SECRETS)
def test_secret_names_are_matched_in_any_case_and_cover_credential_files(
        defaults: IgnoreRules, rel: str) -> None:
    assert defaults.is_secret(rel)


@pytest.mark.parametrize("rule_file", [".containersyncignore", ".gitignore"])
@pytest.mark.parametrize("rel", [".env", "ID_RSA", "server.pem", "deploy.pem", ".aws/config",
                                 ".docker/config.json"])
def test_a_rule_file_never_re_includes_a_secret(tmp_path: Path, rule_file: str,
                                                rel: str) -> None:
    """Only the config file may send a secret: a rule file sits in the synced folder, where
    the sandbox's writes could reach it (issue 8, finding 1)."""
    (tmp_path / rule_file).write_text("!.env\n!id_rsa*\n!ID_RSA\n!*.pem\n!.aws/\n"
                                      "!.docker/\n!*\n!.*\n")
    rules = IgnoreRules.load(tmp_path, use_gitignore=True)
    assert rules.is_secret(rel)
    # the config's exclude list still can, in any case
    allowed = IgnoreRules.load(tmp_path, exclude=["!.ENV", "!id_rsa", "!*.PEM", "!.aws/",
                                                  "!.docker/config.json"], use_gitignore=True)
    assert not allowed.ignored(rel)


def test_a_rule_file_still_re_includes_ordinary_defaults(tmp_path: Path) -> None:
    (tmp_path / ".containersyncignore").write_text("!node_modules/\n")
    assert not IgnoreRules.load(tmp_path).ignored("node_modules/x.js")


@pytest.mark.parametrize("rel", KEPT)
def test_ordinary_files_are_kept(defaults: IgnoreRules, rel: str) -> None:
    assert not defaults.ignored(rel)


def test_user_can_re_include_defaults(tmp_path: Path) -> None:
    (tmp_path / ".containersyncignore").write_text("# comment\n!node_modules/\n")
    rules = IgnoreRules.load(tmp_path, exclude=["*.log", "!keep.log", "/build/",
                                                "!.env.example"])
    assert not rules.ignored(".env.example")
    assert rules.is_secret(".env")
    assert not rules.ignored("node_modules/x.js")
    assert rules.ignored("debug.log") and not rules.ignored("keep.log")
    assert rules.ignored("build/out.bin") and not rules.ignored("src/build/out.bin")


def test_later_source_wins(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.csv\n")
    (tmp_path / ".containersyncignore").write_text("!data.csv\n")
    assert IgnoreRules.load(tmp_path).ignored("x.csv") is False  # gitignore is opt-in
    rules = IgnoreRules.load(tmp_path, use_gitignore=True)
    assert rules.ignored("x.csv") and not rules.ignored("data.csv")
    rules = IgnoreRules.load(tmp_path, exclude=["data.csv"], use_gitignore=True)
    assert rules.ignored("data.csv")


def test_nothing_below_an_ignored_folder_comes_back(tmp_path: Path) -> None:
    rules = IgnoreRules.load(tmp_path, exclude=["!.aws/config"])
    assert rules.is_secret(".aws/config")  # the folder itself is still ignored (git's rule)
    rules = IgnoreRules.load(tmp_path, exclude=["!.aws/"])
    assert not rules.ignored(".aws/config")


def test_bang_star_cannot_upload_temporaries_or_conflict_copies(tmp_path: Path) -> None:
    rules = IgnoreRules.load(tmp_path, exclude=["!*", "!.*"])
    assert not rules.ignored(".env")
    assert not rules.ignored("x.swp")
    assert rules.ignored(".containersync-tmp-1f2e")
    assert rules.ignored("d/report.conflict-20261123-101500.csv")


def test_fingerprint_tracks_effective_rules(tmp_path: Path) -> None:
    a = IgnoreRules.load(tmp_path)
    assert a.fingerprint == IgnoreRules.load(tmp_path).fingerprint
    assert a.fingerprint == IgnoreRules.load(tmp_path, exclude=["# just a comment", ""]).fingerprint
    b = IgnoreRules.load(tmp_path, exclude=["*.log"])
    assert b.fingerprint != a.fingerprint
    (tmp_path / ".containersyncignore").write_text("*.log\n")
    c = IgnoreRules.load(tmp_path)
    assert c.fingerprint not in (a.fingerprint, b.fingerprint)  # same rule, other source
    assert c.rules[-1] == ("containersyncignore", "*.log")


def test_unreadable_ignore_file_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / ".containersyncignore").mkdir()  # reading a directory fails for everyone
    with pytest.raises(ConfigError):
        IgnoreRules.load(tmp_path)


def test_fast_prefilter_agrees_with_pathspec(tmp_path: Path) -> None:
    """The combined-regex shortcut must give pathspec's exact answers."""
    import pathspec

    exclude = ["*.log", "!keep.log", "/build/", "docs/**/*.tmp", "data/raw/", "**/cache",
               "[Tt]humbs.db", "x?z", "!important.key"]
    rules = IgnoreRules.load(tmp_path, exclude=exclude)
    spec = pathspec.GitIgnoreSpec.from_lines([line for _, line in rules.rules])
    names = ["a.log", "keep.log", "sub/keep.log", "build", "src/build", "docs/a/b/c.tmp",
             "docs/c.tmp", "data/raw", "x/data/raw", "cache", "deep/er/cache", "Thumbs.db",
             "thumbs.db", "xyz", "xz", "important.key", "other.key", ".env", "plain.txt",
             "a.swp", "node_modules", "id_rsa2", "#x#", "x#"]
    for name in names:
        for is_dir in (False, True):
            path = name + ("/" if is_dir else "")
            fast = rules.classify(name, is_dir, ancestors=False).value > 0
            assert fast == spec.match_file(path), path


def test_a_fifo_as_ignore_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".containersyncignore")  # opening it for reading blocked forever
    with pytest.raises(ConfigError, match="not a regular file"):
        IgnoreRules.load(tmp_path)
