"""Hypha's real Python client (hypha_rpc) using public/s3-storage, for the system tests.

usage: hypha-server.sh py storage_client.py COMMAND
Environment: HYPHA_SERVER_URL (set by the test), HYPHA_TOKEN (a user's token; anonymous when unset),
HYPHA_WORKSPACE (workspace to connect to), HTTP_BASE (the companion's HTTP routes), COUNT (sizes).
Prints `RESULT <json>` with what it observed, and `CHECK-FAILED <reason>` (exit 1) when an expectation fails.
"""
import asyncio
import json
import os
import sys
import time

import boto3
import httpx
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from hypha_rpc import connect_to_server

URL = os.environ["HYPHA_SERVER_URL"].rstrip("/")
HTTP = os.environ.get("HTTP_BASE", URL).rstrip("/")
out = {}


def check(cond, msg):
    if not cond:
        print("CHECK-FAILED " + msg, flush=True)
        print("RESULT " + json.dumps(out, default=repr), flush=True)
        sys.exit(1)


async def connect(token=None, workspace=None):
    config = {"server_url": URL, "method_timeout": 60}
    token = token if token is not None else os.environ.get("HYPHA_TOKEN")
    if token:
        config["token"] = token
    workspace = workspace or os.environ.get("HYPHA_WORKSPACE")
    if workspace:
        config["workspace"] = workspace
    return await connect_to_server(config)


def denied(fn):
    try:
        fn()
        return False
    except ClientError as e:
        return e.response["Error"]["Code"] in ("AccessDenied", "403")


def boto3_client(info):
    return boto3.client("s3", endpoint_url=info["endpoint_url"], aws_access_key_id=info["access_key_id"],
                        aws_secret_access_key=info["secret_access_key"], aws_session_token=info.get("session_token"),
                        region_name=info["region_name"], config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


async def credential_upload(api):
    """generate_credential, then boto3 under the prefix; the bucket root listing and writes outside are AccessDenied."""
    s3 = await api.get_service("public/s3-storage")
    info = await s3.generate_credential()
    out["workspace"], out["prefix"], out["access"] = api.config.workspace, info["prefix"], info.get("access")
    check(info["prefix"] == api.config.workspace + "/", f"prefix {info['prefix']} is not the caller's workspace")
    client = boto3_client(info)
    client.put_object(Bucket=info["bucket"], Key=info["prefix"] + "boto3/hello.txt", Body=b"hello from boto3")
    body = client.get_object(Bucket=info["bucket"], Key=info["prefix"] + "boto3/hello.txt")["Body"].read()
    check(body == b"hello from boto3", "read back differs")
    out["root_listing_denied"] = denied(lambda: client.list_objects_v2(Bucket=info["bucket"]))
    out["outside_write_denied"] = denied(lambda: client.put_object(Bucket=info["bucket"], Key="ws-user-someone-else/x", Body=b"x"))
    out["sibling_prefix_denied"] = denied(lambda: client.put_object(Bucket=info["bucket"], Key=info["prefix"][:-1] + "x/evil", Body=b"x"))
    check(out["root_listing_denied"] and out["outside_write_denied"] and out["sibling_prefix_denied"], "escaped the prefix")


async def presigned_http(api):
    """Presigned put_object then get_object, with httpx and with requests."""
    s3 = await api.get_service("public/s3-storage")
    for client_name in ("httpx", "requests"):
        key = f"presigned/{client_name}.txt"
        put = await s3.generate_presigned_url(key, client_method="put_object")
        get = await s3.generate_presigned_url(key, client_method="get_object")
        data = f"via {client_name}".encode()
        if client_name == "httpx":
            async with httpx.AsyncClient(timeout=30) as http:
                r = await http.put(put, content=data)
                check(r.status_code == 200, f"httpx PUT {r.status_code} {r.text[:200]}")
                r = await http.get(get)
                check(r.status_code == 200 and r.content == data, f"httpx GET {r.status_code}")
        else:
            r = await asyncio.to_thread(requests.put, put, data=data, timeout=30)
            check(r.status_code == 200, f"requests PUT {r.status_code} {r.text[:200]}")
            r = await asyncio.to_thread(requests.get, get, timeout=30)
            check(r.status_code == 200 and r.content == data, f"requests GET {r.status_code}")
    out["presigned"] = "ok"


async def file_functions(api):
    """list_files, put_file/get_file single and batch, multipart with 3 parts, remove_file."""
    s3 = await api.get_service("public/s3-storage")
    async with httpx.AsyncClient(timeout=60) as http:
        url = await s3.put_file("docs/single.txt")
        check((await http.put(url, content=b"single")).status_code == 200, "put_file single")
        check((await http.get(await s3.get_file("docs/single.txt"))).content == b"single", "get_file single")
        batch = ["docs/a.txt", "docs/b.txt", "docs/c.txt"]
        urls = await s3.put_file(batch)
        check(sorted(urls) == batch, f"batch put_file keys {sorted(urls)}")
        for p in batch:
            check((await http.put(urls[p], content=p.encode())).status_code == 200, f"batch PUT {p}")
        gets = await s3.get_file(batch)
        for p in batch:
            check((await http.get(gets[p])).content == p.encode(), f"batch GET {p}")
        names = sorted(i["name"] for i in await s3.list_files("docs"))
        check(names == ["a.txt", "b.txt", "c.txt", "single.txt"], f"list_files docs {names}")
        part = 5 * 1024 * 1024
        chunks = [b"1" * part, b"2" * part, b"3" * (part // 2)]
        started = await s3.put_file_start_multipart("big/multi.bin", part_count=3)
        etags = []
        for p, chunk in zip(started["parts"], chunks):
            r = await http.put(p["url"], content=chunk)
            check(r.status_code == 200, f"part {p['part_number']}: {r.status_code}")
            etags.append({"part_number": p["part_number"], "etag": r.headers["ETag"]})
        done = await s3.put_file_complete_multipart(upload_id=started["upload_id"], parts=etags)
        check(done["success"] is True, f"complete {done}")
        r = await http.get(await s3.get_file("big/multi.bin"))
        check(r.content == b"".join(chunks), "multipart read back differs")
        removed = await s3.remove_file("docs/a.txt")
        check(removed["success"] is True, f"remove_file {removed}")
        missing = await s3.remove_file("docs/a.txt")
        check(missing["success"] is False and "Path does not exist" in missing["message"], f"remove missing {missing}")
        removed_dir = await s3.remove_file("docs/")
        check(removed_dir["success"] is True, f"remove_file dir {removed_dir}")
        check(await s3.list_files("docs") == [], "docs/ not empty after removal")
    out["files"] = "ok"


async def files_routes_with_generated_token(api):
    """A token from api.generate_token() on the companion's /{ws}/files routes."""
    token = await api.generate_token()
    headers = {"Authorization": f"Bearer {token}"}
    ws = api.config.workspace
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.put(f"{HTTP}/{ws}/files/routes/t.txt", headers=headers, content=b"token works")
        check(r.status_code == 200, f"PUT /files {r.status_code} {r.text[:200]}")
        r = await http.get(f"{HTTP}/{ws}/files/routes/t.txt", headers=headers)
        check(r.status_code == 200 and r.content == b"token works", f"GET /files {r.status_code}")
        r = await http.get(f"{HTTP}/{ws}/files/routes/t.txt")
        check(r.status_code == 403, f"GET /files without a token {r.status_code}")
    out["files_routes"] = "ok"


async def read_only_member(api):
    """A member with read permission (a token the owner minted): lists and reads, cannot put, delete or get rw credentials."""
    s3 = await api.get_service("public/s3-storage")
    url = await s3.put_file("shared/readme.txt")
    async with httpx.AsyncClient(timeout=30) as http:
        await http.put(url, content=b"for readers")
    reader_token = await api.generate_token({"permission": "read", "expires_in": 600})
    reader = await connect(reader_token, api.config.workspace)
    try:
        rs3 = await reader.get_service("public/s3-storage")
        out["reader_ws"] = reader.config.workspace
        listed = [i["name"] for i in await rs3.list_files("shared")]
        check(listed == ["readme.txt"], f"reader list {listed}")
        refusals = {}
        for name, call in (("put_file", lambda: rs3.put_file("shared/evil.txt")),
                           ("presign_put", lambda: rs3.generate_presigned_url("shared/evil.txt", client_method="put_object")),
                           ("remove_file", lambda: rs3.remove_file("shared/readme.txt"))):
            try:
                await call()
                refusals[name] = "allowed"
            except Exception as e:  # noqa: BLE001
                refusals[name] = str(e)[:200]
        out["reader_refusals"] = refusals
        check(all("PermissionError" in v for v in refusals.values()), f"reader not refused: {refusals}")
        creds = await rs3.generate_credential()
        out["reader_credential_access"] = creds.get("access")
        check(creds.get("access") == "r", f"reader got {creds.get('access')} credentials")
        check(denied(lambda: boto3_client(creds).put_object(Bucket=creds["bucket"], Key=creds["prefix"] + "x", Body=b"x")),
              "read-only credentials could write")
    finally:
        await reader.disconnect()


async def current_workspace(api):
    """Connected to workspace B (where the user also has rights), every call acts on B: never on the user's own A."""
    other = os.environ["OTHER_WORKSPACE"]
    await api.create_workspace({"name": other, "description": "system test: a second workspace of this user"}, overwrite=True)
    token_b = await api.generate_token({"workspace": other, "permission": "read_write", "expires_in": 600})
    in_b = await connect(token_b, workspace=other)
    try:
        s3 = await in_b.get_service("public/s3-storage")
        info = await s3.generate_credential()
        out["connected_ws"], out["prefix"] = in_b.config.workspace, info["prefix"]
        check(info["prefix"] == other + "/", f"connected to {other} but got {info['prefix']}")
        url = await s3.generate_presigned_url("where.txt", client_method="put_object")
        check(f"/{other}/where.txt" in url, f"presigned URL not in {other}: {url[:160]}")
    finally:
        await in_b.disconnect()


async def anonymous(api):
    """What an anonymous caller gets; printed for the test to compare with Hypha's built-in."""
    s3 = await api.get_service("public/s3-storage")
    out["workspace"] = api.config.workspace
    results = {}
    for name, call in (("list_files", lambda: s3.list_files("")),
                       ("presign_get", lambda: s3.generate_presigned_url("x.txt")),
                       ("presign_put", lambda: s3.generate_presigned_url("x.txt", client_method="put_object")),
                       ("generate_credential", lambda: s3.generate_credential())):
        try:
            value = await call()
            results[name] = "ok" if value is not None else "none"
        except Exception as e:  # noqa: BLE001
            results[name] = "refused: " + str(e).splitlines()[-1][:160]
    out["anonymous"] = results


async def big_listing(api):
    """COUNT objects (boto3 with the workspace's credentials), then list_files returns every one intact (chunked frames)."""
    count = int(os.environ.get("COUNT", "5000"))
    s3 = await api.get_service("public/s3-storage")
    info = await s3.generate_credential()
    client = boto3_client(info)

    def put_range(start, end):
        for i in range(start, end):
            client.put_object(Bucket=info["bucket"], Key=f"{info['prefix']}many/object-{i:05d}.txt", Body=b"x")

    step = count // 16 + 1
    await asyncio.gather(*(asyncio.to_thread(put_range, s, min(s + step, count)) for s in range(0, count, step)))
    started = time.monotonic()
    items = await s3.list_files("many", max_length=10000)
    out["list_seconds"] = round(time.monotonic() - started, 2)
    names = [i["name"] for i in items]
    out["listed"] = len(names)
    check(names == [f"object-{i:05d}.txt" for i in range(count)], f"listed {len(names)} of {count}, or out of order")
    check(all(i["size"] == 1 and i["type"] == "file" for i in items), "entries are not intact")


async def many_calls(api):
    """COUNT calls in flight at once from several clients, all answered."""
    count = int(os.environ.get("COUNT", "200"))
    clients = [api] + [await connect(workspace=api.config.workspace) for _ in range(3)]
    services = [await c.get_service("public/s3-storage") for c in clients]
    started = time.monotonic()
    calls = [services[i % len(services)].generate_presigned_url(f"many/{i}.txt") for i in range(count)]
    urls = await asyncio.gather(*calls)
    out["seconds"] = round(time.monotonic() - started, 2)
    out["answered"] = len([u for u in urls if isinstance(u, str) and u.startswith("http")])
    for c in clients[1:]:
        await c.disconnect()
    check(out["answered"] == count, f"{out['answered']} of {count} answered")


async def use_and_leave(api):
    """Use storage in this (anonymous, temporary) workspace, then disconnect: Hypha deletes the workspace."""
    s3 = await api.get_service("public/s3-storage")
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.put(await s3.put_file("left-behind.txt"), content=b"data of a temporary workspace")
        check(r.status_code == 200, f"PUT {r.status_code}")
    out["workspace"] = api.config.workspace


COMMANDS = {f.__name__: f for f in (use_and_leave, credential_upload, presigned_http, file_functions, files_routes_with_generated_token, read_only_member,
                                    current_workspace, anonymous, big_listing, many_calls)}


async def main(names):
    api = await connect()
    out["user"] = api.config.user["id"] if api.config.get("user") else None
    try:
        for name in names:
            await COMMANDS[name](api)
    finally:
        await api.disconnect()
    print("RESULT " + json.dumps(out, default=repr), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
