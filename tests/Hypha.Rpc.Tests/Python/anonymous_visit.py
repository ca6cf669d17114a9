"""An anonymous hypha_rpc client that connects (Hypha creates its temporary workspace), registers a service, and leaves.

Prints `RESULT {"workspace": ..., "left_at": unix seconds}`.
"""
import asyncio
import json
import os
import time

from hypha_rpc import connect_to_server


async def main():
    api = await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"]})
    workspace = api.config.workspace
    await api.register_service({"id": "visit", "config": {"visibility": "public"}, "hello": lambda: "hi"})
    await asyncio.sleep(0.5)
    await api.disconnect()
    left_at = time.time()
    print("RESULT " + json.dumps({"workspace": workspace, "left_at": left_at}, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
