"""Client of bench rows 10 and 12: public/s3-storage called through a Hypha server with Hypha's own Python client.

Run with Python Hypha's interpreter (scripts/hypha-python.sh path) as `python hypha_storage_calls.py MODE`; HYPHA_SERVER_URL is set by the bench,
tokens come from the environment (never argv). Prints one line `RESULT {json}`.

MODE "throughput" (row 10; env BENCH_HYPHA_TOKEN, BENCH_SECONDS, BENCH_IN_FLIGHT): connects as one user, writes a few
small files under bench/ with presigned PUTs, then for generate_presigned_url and list_files in turn runs calls one
after another, then with BENCH_IN_FLIGHT calls in flight, each for at least BENCH_SECONDS. Answers per function and
mode {"calls_per_s", "latencies_ms", "errors"} (failed calls, e.g. timed out after 60 s, are counted, not timed). The same script, user shape and files on both servers (companion and built-in).

MODE "first_call" (row 12; env BENCH_HYPHA_TOKENS, a JSON list of tokens of brand-new users): for each user, connects,
gets the service, then times its first generate_credential (the workspace has no storage yet) and a second one right
after (the workspace now exists). Answers {"first_ms": [...], "existing_ms": [...], "workspaces": [...]}.
"""
import asyncio
import json
import os
import sys
import time

import httpx
from hypha_rpc import connect_to_server

FILES = 10


async def connect(token):
    return await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"], "token": token, "method_timeout": 60})


async def timed(call, latencies, errors):
    """One call; its latency when it succeeds, else one more error (a call that timed out says more as a count)."""
    t = time.perf_counter()
    try:
        await call()
    except Exception as e:  # noqa: BLE001
        errors.append(type(e).__name__ + ": " + str(e)[:200])
        return
    latencies.append((time.perf_counter() - t) * 1000.0)


async def sequential(call, seconds, minimum=5):
    latencies, errors = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(latencies) + len(errors) < minimum:
        await timed(call, latencies, errors)
    return {"calls_per_s": len(latencies) / (time.perf_counter() - start), "latencies_ms": latencies, "errors": errors}


async def in_flight(call, width, seconds):
    latencies, errors = [], []
    start = time.perf_counter()

    async def worker():
        while time.perf_counter() - start < seconds:
            await timed(call, latencies, errors)

    await asyncio.gather(*(worker() for _ in range(width)))
    return {"calls_per_s": len(latencies) / (time.perf_counter() - start), "latencies_ms": latencies, "errors": errors}


async def throughput():
    api = await connect(os.environ["BENCH_HYPHA_TOKEN"])
    s3 = await api.get_service("public/s3-storage")
    seconds = float(os.environ.get("BENCH_SECONDS", "3"))
    width = int(os.environ.get("BENCH_IN_FLIGHT", "32"))
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for i in range(FILES):
            url = await s3.generate_presigned_url(f"bench/file-{i}.txt", client_method="put_object")
            response = await http.put(url, content=b"x" * 100)
            if response.status_code != 200:
                raise RuntimeError(f"presigned PUT answered {response.status_code}")

    async def presign():
        url = await s3.generate_presigned_url("bench/file-0.txt", client_method="get_object")
        assert url.startswith("http")

    async def list_files():
        listed = await s3.list_files("bench")
        assert len(listed) == FILES, listed

    result = {}
    for name, call in (("generate_presigned_url", presign), ("list_files", list_files)):
        for _ in range(3):
            await call()
        result[name] = {"sequential": await sequential(call, seconds), "in_flight": await in_flight(call, width, seconds)}
    await api.disconnect()
    return result


async def first_call():
    first, existing, workspaces = [], [], []
    for token in json.loads(os.environ["BENCH_HYPHA_TOKENS"]):
        api = await connect(token)
        s3 = await api.get_service("public/s3-storage")
        t = time.perf_counter()
        info = await s3.generate_credential()
        first.append((time.perf_counter() - t) * 1000.0)
        assert info["access_key_id"]
        t = time.perf_counter()
        info = await s3.generate_credential()
        existing.append((time.perf_counter() - t) * 1000.0)
        assert info["access_key_id"]
        workspaces.append(api.config.workspace)
        await api.disconnect()
    return {"first_ms": first, "existing_ms": existing, "workspaces": workspaces}


def main():
    mode = sys.argv[1]
    result = asyncio.run(throughput() if mode == "throughput" else first_call())
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
