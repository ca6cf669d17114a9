"""Which registration answers get_service("public/s3-storage"), over COUNT consecutive lookups (each followed by a call).

usage: hypha-server.sh py registrations.py   (env: HYPHA_SERVER_URL, COUNT, optional HYPHA_TOKEN)
Prints `RESULT {"ids": {full service id: count}, "errors": n}`.
"""
import asyncio
import json
import os

from hypha_rpc import connect_to_server


async def main():
    config = {"server_url": os.environ["HYPHA_SERVER_URL"], "method_timeout": 30}
    if os.environ.get("HYPHA_TOKEN"):
        config["token"] = os.environ["HYPHA_TOKEN"]
    api = await connect_to_server(config)
    ids, errors, last_error = {}, 0, None
    for _ in range(int(os.environ.get("COUNT", "200"))):
        try:
            svc = await api.get_service("public/s3-storage")
            await svc.list_files("")
            ids[svc["id"]] = ids.get(svc["id"], 0) + 1
        except Exception as e:  # noqa: BLE001
            errors += 1
            last_error = str(e)[-300:]
    await api.disconnect()
    print("RESULT " + json.dumps({"ids": ids, "errors": errors, "last_error": last_error}), flush=True)


asyncio.run(main())
