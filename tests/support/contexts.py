"""One mapping's engine context over a real index and a real backend, for tests that drive
``run_cycle`` or the listing functions directly (no CLI, no daemon)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from containersync.config import parse_config
from containersync.engine.context import MappingContext
from containersync.engine.session import open_session


@contextmanager
def mapping_context(tmp: Path, base_url: str, root: Path, *,
                    extra: str = "") -> Iterator[MappingContext]:
    """Mapping ``m`` of ``root`` with its state under ``tmp / "state"``; ``extra`` is TOML
    appended to the mapping's table (e.g. a ``[mappings.container]`` id)."""
    text = (f'[api]\nbase_url = "{base_url}"\napi_key_env = "CS_TEST_KEY"\n'
            f'[state]\ndir = "{tmp / "state"}"\n'
            f'[[mappings]]\nname = "m"\nlocal = "{root}"\n{extra}')
    cfg = parse_config(text, file=tmp / "c.toml", env={})
    session = open_session(cfg, env={"CS_TEST_KEY": "sk-test"})
    try:
        yield session.context(cfg.mappings[0], session.open_index())
    finally:
        session.close()


def old_tree(root: Path, files: int) -> list[Path]:
    """``files`` small files ``d<i // 100>/f<i:03d>.txt`` under ``root``, dated an hour
    back: older than the racy window (``model.entry.RACY_NS``), so a no-op cycle after the
    one that synced them reads none of them."""
    hour_ago = time.time_ns() - 3600 * 10**9
    made = []
    for i in range(files):
        f = root / f"d{i // 100}" / f"f{i:03d}.txt"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f"file {i}\n")
        os.utime(f, ns=(hour_ago, hour_ago))
        made.append(f)
    return made


def many_mappings(tmp: Path, base_url: str, key_env: str, *, mappings: int, files: int,
                  prefix: str = "m", daemon: str = "") -> Path:
    """A config file of ``mappings`` mappings ``<prefix>NN``, each a folder of ``files``
    small files under ``tmp``, with the state under ``tmp / "state"``; ``daemon`` is TOML
    lines for the ``[daemon]`` table. Returns the file's path."""
    lines = ["[api]", f'base_url = "{base_url}"', f'api_key_env = "{key_env}"',
             "[state]", f'dir = "{tmp / "state"}"', "[daemon]", daemon]
    for i in range(mappings):
        folder = tmp / f"{prefix}{i:02d}"
        folder.mkdir(parents=True)
        for n in range(files):
            (folder / f"f{n}.txt").write_text(f"{i}-{n}\n")
        lines += ["[[mappings]]", f'name = "{prefix}{i:02d}"', f'local = "{folder}"']
    config = tmp / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    return config
