"""The baseline clients of the harness, each run as its own process (so its interpreter
start-up counts, as containersync's does): prints one JSON object on stdout.

    baselines.py push --base-url U --tree DIR --client sdk-seq
    baselines.py push --base-url U --tree DIR --client sdk-async --workers 32
    baselines.py push --base-url U --tree DIR --client httpx-threads --workers 32
    baselines.py pull --base-url U --container CID --dest DIR [--workers 8]

``push`` creates a container and uploads every file under DIR (one request each, the name
as filename, as a careful script would); ``pull`` lists a container's files (pages of 100,
one after another) and downloads every ``assistant`` file under DIR with ``--workers``
threads. ``work_seconds`` runs from the first client object to the last response.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

KEY = "sk-bench"
REMOTE_ROOT = "/mnt/data/"


def _files(tree: Path) -> list[tuple[str, bytes]]:
    """(upload filename, bytes): the relative path with '/' as '-' (a filename has no '/')."""
    return [(p.relative_to(tree).as_posix().replace("/", "-"), p.read_bytes())
            for p in sorted(tree.rglob("*")) if p.is_file()]


def push_sdk_sequential(base_url: str, files: list[tuple[str, bytes]]) -> int:
    from openai import OpenAI

    client = OpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    cid = client.containers.create(name="baseline-sdk-seq").id
    for name, data in files:
        client.containers.files.create(cid, file=(name, data))
    return 0


def push_sdk_async(base_url: str, files: list[tuple[str, bytes]], workers: int) -> int:
    from openai import AsyncOpenAI

    async def go() -> int:
        client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        cid = (await client.containers.create(name="baseline-sdk-async")).id
        gate = asyncio.Semaphore(workers)

        async def one(name: str, data: bytes) -> None:
            async with gate:
                await client.containers.files.create(cid, file=(name, data))

        await asyncio.gather(*(one(n, d) for n, d in files))
        await client.close()
        return 0

    return asyncio.run(go())


def push_httpx_threads(base_url: str, files: list[tuple[str, bytes]], workers: int) -> int:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as setup:
        cid = setup.post("/containers", json={"name": "baseline-httpx"}).json()["id"]
    local = threading.local()
    failures = [0]

    def one(item: tuple[str, bytes]) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        reply = local.http.post(f"/containers/{cid}/files", files={"file": item})
        if reply.status_code != 200:
            failures[0] += 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return failures[0]


def pull(base_url: str, cid: str, dest: Path, workers: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    items: list[dict[str, Any]] = []
    pages = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
            page = http.get(f"/containers/{cid}/files", params=params).json()
            pages += 1
            items += page["data"]
            if not page["has_more"] or not page["data"]:
                break
            after = page["data"][-1]["id"]
    wanted = [i for i in items if i["source"] == "assistant" and i["path"].startswith(REMOTE_ROOT)]
    local = threading.local()

    def one(item: dict[str, Any]) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        target = dest / item["path"][len(REMOTE_ROOT):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(local.http.get(f"/containers/{cid}/files/{item['id']}/content").content)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, wanted))
    return {"listed": len(items), "pages": pages, "downloaded": len(wanted)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["push", "pull"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--tree", type=Path)
    parser.add_argument("--client", choices=["sdk-seq", "sdk-async", "httpx-threads"])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--container")
    parser.add_argument("--dest", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict[str, Any]
    if args.what == "pull":
        result = pull(args.base_url, args.container, args.dest, args.workers)
    else:
        files = _files(args.tree)
        started = time.perf_counter()
        if args.client == "sdk-seq":
            failures = push_sdk_sequential(args.base_url, files)
        elif args.client == "sdk-async":
            failures = push_sdk_async(args.base_url, files, args.workers)
        else:
            failures = push_httpx_threads(args.base_url, files, args.workers)
        result = {"files": len(files), "failures": failures}
    result["work_seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
