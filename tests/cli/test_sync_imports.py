"""What a ``sync`` against a URL loads before and while the engine runs (issue 9: the fixed
cost of ``sync``). Counted, not timed: the modules in ``sys.modules`` when the command
ends, in a fresh interpreter against a served local backend.

- httpx's own command line (click, pygments) is never imported;
- structlog waits for a first line to log (a quiet sync logs none);
- the wire is decoded without pydantic (``api.decode``);
- a plain-http client loads no CA certificates.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess as sp
import sys
from pathlib import Path

from containersync.api.client import tls_for
from containersync.localapi.embedded import RunningServer
from support.backend import raw
from support.daemon_harness import wait_for
from support.scenario import KEY_ENV, write_config

RUN = ("import sys, json\n"
       "from containersync.cli import main\n"
       "code = main(sys.argv[1:])\n"
       "sys.stdout.flush()\n"
       "print(json.dumps([code, sorted(sys.modules)]), file=sys.stderr)\n")

NEVER = ("click", "pygments", "rich", "structlog", "uvicorn", "starlette", "watchdog")


def modules_after(code: str, *args: str) -> tuple[int, set[str], str]:
    done = sp.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                  timeout=120, check=False, env={**os.environ, KEY_ENV: "sk-test"})
    last = done.stderr.strip().splitlines()[-1]
    exit_code, names = json.loads(last)
    return exit_code, {n.split(".")[0] for n in names}, done.stderr


def test_a_sync_against_a_url_imports_no_cli_library_and_no_logging_stack(
        tmp_path: Path, local_server: RunningServer) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(5):
        (tree / f"f{i}.txt").write_text(f"{i}\n", encoding="utf-8")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=tree)
    for _ in ("push", "no-op"):
        code, names, err = modules_after(RUN, "sync", "--config", str(config), "-q")
        assert code == 0, err
        assert names.isdisjoint(NEVER), sorted(names & set(NEVER))


def test_the_client_decodes_the_wire_without_pydantic(local_server: RunningServer) -> None:
    code = ("import sys, json\n"
            "from containersync.api.client import ContainersClient\n"
            "from containersync.api.wire import ContainerSpec\n"
            f"with ContainersClient.connect({local_server.base_url!r}, 'sk-test') as c:\n"
            "    box = c.create_container(ContainerSpec(name='plain'))\n"
            "    assert [b.id for b in c.list_containers(name='plain')] == [box.id]\n"
            "    assert list(c.list_files(box.id)) == []\n"
            "print(json.dumps([0, sorted(sys.modules)]), file=sys.stderr)\n")
    exit_code, names, err = modules_after(code)
    assert exit_code == 0, err
    assert "pydantic" not in names and "pydantic_core" not in names
    assert names.isdisjoint(NEVER)


def test_a_plain_http_endpoint_loads_no_certificates_and_trusts_none() -> None:
    context = tls_for("http://127.0.0.1:8700/v1")
    assert isinstance(context, ssl.SSLContext)
    assert context.cert_store_stats()["x509"] == 0  # nothing loaded, nothing trusted
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    for url in ("https://api.openai.com/v1", "HTTPS://api.example/v1"):
        verified = tls_for(url)  # httpx's default: the system's trust store
        assert verified.cert_store_stats()["x509"] > 0
        assert verified.verify_mode == ssl.CERT_REQUIRED and verified.check_hostname


def test_a_daemon_on_an_unchanged_config_never_imports_pydantic(
        tmp_path: Path, local_server: RunningServer) -> None:
    """The daemon reads its config as ``sync`` does: from the cache of the validated config
    while nothing changed (pydantic and the models are ~10 MiB of a daemon's memory). The
    daemon here syncs a file, is stopped, and says what it had imported."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "first.txt").write_text("1\n", encoding="utf-8")
    config = write_config(tmp_path / "c.toml", base_url=local_server.base_url,
                          state=tmp_path / "state", local=tree)
    code, names, err = modules_after(RUN, "sync", "--config", str(config), "-q")  # validates
    assert code == 0 and "pydantic" in names, err  # a first run validates in full
    (tree / "second.txt").write_text("2\n", encoding="utf-8")
    daemon = sp.Popen([sys.executable, "-c", RUN, "daemon", "--config", str(config)],
                      stdout=sp.DEVNULL, stderr=sp.PIPE, text=True,
                      env={**os.environ, KEY_ENV: "sk-test"})
    try:
        with raw(local_server) as http:
            [box] = http.get("v1/containers").json()["data"]
        wait_for(lambda: any(f["path"].endswith("/second.txt")
                             for f in local_server.store.list_container_files(box["id"])),
                 "the daemon's upload of second.txt")
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=60)
    exit_code, modules = json.loads(err.strip().splitlines()[-1])
    assert exit_code == 0, err
    assert not {m.split(".")[0] for m in modules} & {"pydantic", "pydantic_core"}
