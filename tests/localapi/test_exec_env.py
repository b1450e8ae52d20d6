"""``local exec`` gives the assistant's command a minimal environment (issue 8, finding 4):
nothing of ours that looks like a key, token, secret, password or credential, and no
``OPENAI_*`` at all; the basics a command needs (PATH, HOME, LANG, ...) stay."""

from __future__ import annotations

import os
import subprocess
import sys

from test_exec_cli import create_container

from containersync.localapi.embedded import RunningServer

DROPPED = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "CONTAINERSYNC_SCENARIO_KEY",
           "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "GITHUB_TOKEN",
           "GH_PAT", "DATABASE_PASSWORD", "PGPASSWORD", "MY_APP_SECRET", "SSH_AUTH_SOCK",
           "GOOGLE_APPLICATION_CREDENTIALS", "NPM_AUTH", "HTTPS_PROXY", "DOCKER_AUTH_CONFIG",
           "ANTHROPIC_API_KEY", "api_key", "SOME_ORDINARY_SETTING"]
KEPT = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/someone",
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC", "TERM": "xterm"}


def test_the_command_gets_a_minimal_environment(local_server: RunningServer) -> None:
    cid = create_container(local_server)
    env = {**os.environ, **KEPT, **{name: "s3cr3t-value" for name in DROPPED}}
    argv = [sys.executable, "-m", "containersync", "local", "exec", cid, "--base-url",
            local_server.base_url, "--", "env", "-0"]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False, env=env)
    assert done.returncode == 0, done.stderr
    seen = dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    assert [name for name in DROPPED if name in seen] == []
    assert "s3cr3t-value" not in seen.values()
    assert {name: seen.get(name) for name in KEPT} == KEPT
