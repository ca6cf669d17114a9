"""A real hypha_rpc caller of the C# test service; run with Python Hypha's interpreter: python hypha_caller.py COMMAND ARGS.

Connects anonymously, or with $HYPHA_TOKEN (and $HYPHA_WORKSPACE) when set; $METHOD_TIMEOUT sets hypha_rpc's
method_timeout. Prints one line `RESULT <json>` with what the command observed; exits non-zero when a check fails.
"""
import asyncio
import json
import os
import sys
import time

from hypha_rpc import connect_to_server

URL = os.environ["HYPHA_SERVER_URL"]


def result(value):
    print("RESULT " + json.dumps(value, default=repr, separators=(",", ":")), flush=True)


async def connect(**extra):
    config = {"server_url": URL, **extra}
    if os.environ.get("HYPHA_TOKEN"):
        config["token"] = os.environ["HYPHA_TOKEN"]
    if os.environ.get("HYPHA_WORKSPACE"):
        config["workspace"] = os.environ["HYPHA_WORKSPACE"]
    if os.environ.get("METHOD_TIMEOUT"):
        config["method_timeout"] = float(os.environ["METHOD_TIMEOUT"])
    return await connect_to_server(config)


async def echo(api, service_id):
    svc = await api.get_service(service_id)
    positional = await svc.echo(1, "two", 3.5, None, [1, 2], {"k": "v"})
    keyword = await svc.echo("a", flag=True, name="x")
    return {"caller_ws": api.config.workspace, "caller_user": api.config.user["id"] if api.config.get("user") else None,
            "caller_client": api.config.client_id, "positional": positional, "keyword": keyword,
            "doc": svc.echo.__doc__, "schema": getattr(svc.echo, "__schema__", None)}


async def echo_child(api, service_id, permission):
    """A token the caller mints for its own workspace with PERMISSION; a second connection uses it to call echo."""
    token = await api.generate_token({"permission": permission, "expires_in": 600})
    child = await connect_to_server({"server_url": URL, "token": token, "workspace": api.config.workspace})
    try:
        svc = await child.get_service(service_id)
        return {"caller_ws": api.config.workspace, "child_user": child.config.user["id"],
                "parent_user": api.config.user["id"], "echo": await svc.echo("as child")}
    finally:
        await child.disconnect()


async def reject(api, service_id):
    svc = await api.get_service(service_id)
    out = {}
    for fn in ("fail", "crash"):
        try:
            await getattr(svc, fn)()
            out[fn] = "no error"
        except Exception as e:  # noqa: BLE001
            out[fn] = str(e)
    # A function the service does not have: call the method directly, as a stale client would.
    target = svc.echo.__rpc_object__["_rtarget"]
    unknown = api.rpc._generate_remote_method(
        {"_rtarget": target, "_rmethod": f"services.{service_id.split(':')[-1].split('/')[-1]}.nope", "_rpromise": "*"})
    try:
        await unknown()
        out["unknown"] = "no error"
    except Exception as e:  # noqa: BLE001
        out["unknown"] = str(e)
    out["after"] = (await svc.echo("still alive"))["args"]
    return out


def entries(n):
    return [{"key": f"folder/file-{i:06d}.bin", "size": i * 17, "etag": f"{i:032x}", "last_modified": 1700000000.5 + i}
            for i in range(n)]


async def big_in(api, service_id, n):
    svc = await api.get_service(service_id)
    payload = entries(int(n))
    blob = os.urandom(600 * 1024)
    summary = await svc.measure(payload, blob=blob)
    import hashlib
    return {"sent_entries": len(payload), "sent_blob_sha256": hashlib.sha256(blob).hexdigest(),
            "sent_first": payload[0], "sent_last": payload[-1], "summary": summary}


async def big_out(api, service_id, n):
    import msgpack
    svc = await api.get_service(service_id)
    started = time.time()
    got = await svc.big(int(n))
    elapsed = time.time() - started
    expected = entries(int(n))
    return {"count": len(got), "intact": got == expected, "bytes": len(msgpack.packb(got)), "seconds": elapsed}


async def slow(api, service_id, seconds):
    svc = await api.get_service(service_id)
    started = time.time()
    value = await svc.slow(float(seconds))
    return {"value": value, "seconds": time.time() - started}


async def concurrent(api, service_id, calls):
    svc = await api.get_service(service_id)
    calls = int(calls)
    slow_started = time.time()
    slow_task = asyncio.ensure_future(svc.slow(3))
    await asyncio.sleep(0.2)  # the slow call is in flight before the fast ones start
    started = time.time()

    async def one(i):
        t0 = time.time()
        r = await svc.echo(i)
        return r["args"] == [i], time.time() - t0

    outcomes = await asyncio.gather(*(one(i) for i in range(calls)), return_exceptions=True)
    fast_done = time.time() - started
    await slow_task
    ok = sum(1 for o in outcomes if isinstance(o, tuple) and o[0])
    errors = [repr(o) for o in outcomes if not isinstance(o, tuple)][:3]
    latencies = sorted(o[1] for o in outcomes if isinstance(o, tuple))
    return {"ok": ok, "calls": calls, "errors": errors, "fast_seconds": fast_done,
            "slow_seconds": time.time() - slow_started,
            "p50": latencies[len(latencies) // 2] if latencies else None,
            "max": latencies[-1] if latencies else None}


async def lookup(api, service_id):
    try:
        svc = await api.get_service(service_id)
        return {"found": True, "echo": (await svc.echo("hi"))["args"]}
    except Exception as e:  # noqa: BLE001
        return {"found": False, "error": str(e)[:300]}


async def main():
    command, args = sys.argv[1], sys.argv[2:]
    api = await connect()
    try:
        value = await {"echo": echo, "echo_child": echo_child, "reject": reject, "big_in": big_in, "big_out": big_out, "slow": slow,
                       "concurrent": concurrent, "lookup": lookup}[command](api, *args)
    finally:
        await api.disconnect()
    result(value)


if __name__ == "__main__":
    asyncio.run(main())
