#!/usr/bin/env python3
"""Mints a token that may register services in Hypha's workspace "public", for the companion's Secret hypha-token.

    HYPHA_SERVER_URL=https://hypha.example.org HYPHA_ROOT_TOKEN_FILE=./root-token \
        python3 scripts/hypha-public-token.py public-token [--days 90]

Connects with Hypha's root token (read from the file HYPHA_ROOT_TOKEN_FILE, never from the command line) and asks
the workspace manager for a read_write token on "public" that expires after --days. Writes it to the new file named
by the first argument, mode 0600, and prints nothing secret. Needs hypha-rpc (pip install hypha-rpc).
See docs/deploy.md, section 9.
"""
import argparse
import asyncio
import os

from hypha_rpc import connect_to_server


async def mint(server_url, root_token, days):
    api = await connect_to_server({"server_url": server_url, "token": root_token})
    try:
        return await api.generate_token(
            {"workspace": "public", "permission": "read_write", "expires_in": days * 24 * 3600}
        )
    finally:
        await api.disconnect()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="file to create (mode 0600); it must not exist")
    parser.add_argument("--days", type=int, default=90, help="lifetime of the token (default 90)")
    args = parser.parse_args()
    if args.days < 1:
        parser.error("--days must be at least 1")
    with open(os.environ["HYPHA_ROOT_TOKEN_FILE"]) as f:
        root_token = f.read().strip()
    token = asyncio.run(mint(os.environ["HYPHA_SERVER_URL"], root_token, args.days))
    with os.fdopen(os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(token)
    print(f"wrote a read_write token for workspace public, valid {args.days} days, to {args.output}")


if __name__ == "__main__":
    main()
