"""Sends hand-made frames to a C# service through a real Hypha, with only a WebSocket and msgpack.

usage: raw_frames.py TARGET SERVICE_ID OVERSIZED_BYTES   (TARGET: public/CLIENT_ID of the C# client)
Connects anonymously, then sends, each with its own session: a valid main map followed by garbage (malformed extra),
an oversized call, a call to an unknown function, and a valid echo call. Prints `RESULT {session: answer}`.
"""
import asyncio
import json
import os
import sys
import time
import uuid

import msgpack
import websockets

URL = os.environ["HYPHA_SERVER_URL"].replace("http://", "ws://").replace("https://", "wss://") + "/ws"


async def main():
    target, service, oversized = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client_id = "raw-" + uuid.uuid4().hex[:8]
    async with websockets.connect(URL, max_size=None) as sock:
        await sock.send(json.dumps({"token": None, "workspace": None, "client_id": client_id, "reconnection_token": None}))
        info = json.loads(await sock.recv())
        me = f"{info['workspace']}/{client_id}"

        def main_map(session, method):
            return msgpack.packb({"type": "method", "from": me, "to": target, "method": method, "session": session})

        def extra(args):
            return msgpack.packb({"args": args, "promise": "*", "t": 10})

        frames = {
            "malformed": main_map("malformed", f"services.{service}.echo") + b"\xc1\xc1garbage\xff",
            "oversized": main_map("oversized", f"services.{service}.echo") + extra([b"x" * oversized]),
            "unknown": main_map("unknown", f"services.{service}.nope") + extra([]),
            "valid": main_map("valid", f"services.{service}.echo") + extra(["after the bad frames"]),
        }
        answers = {}
        started = time.time()
        for name, frame in frames.items():
            await sock.send(frame)
            if name == "valid":
                await asyncio.sleep(0.3)  # the valid call goes last, after the bad ones were handled
        while len(answers) < len(frames):
            raw = await asyncio.wait_for(sock.recv(), 20)
            if isinstance(raw, str):
                continue
            unpacker = msgpack.Unpacker(raw=False)
            unpacker.feed(raw)
            parts = list(unpacker)
            msg = {**parts[0], **(parts[1] if len(parts) > 1 else {})}
            session, _, kind = msg.get("method", "").partition(".")
            if session in frames and kind in ("resolve", "reject"):
                value = (msg.get("args") or [None])[0]
                answers[session] = {"kind": kind, "value": value if kind == "resolve" else (value or {}).get("_rvalue"),
                                    "seconds": round(time.time() - started, 3)}
    print("RESULT " + json.dumps(answers, default=repr, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
