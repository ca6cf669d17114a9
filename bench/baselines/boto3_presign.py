#!/usr/bin/python3
"""Baseline of bench row 1: botocore's generate_presigned_url in a loop (what Hypha does per presign).

Reads one JSON request per line on stdin: {"seconds": 2.0, "bucket": "...", "key": "..."}; answers one JSON line:
{"count": N, "seconds": S, "rate": N/S}. Credentials and endpoint come from the environment
(BENCH_S3_ENDPOINT, BENCH_S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never from argv.
Run with Debian's /usr/bin/python3 and python3-boto3.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config


def main():
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["BENCH_S3_ENDPOINT"],
        region_name=os.environ.get("BENCH_S3_REGION", "us-east-1"),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    for line in sys.stdin:
        request = json.loads(line)
        params = {"Bucket": request["bucket"], "Key": request["key"]}
        for _ in range(200):  # warm-up: botocore builds and caches its models lazily
            s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
        count = 0
        start = time.perf_counter()
        deadline = start + float(request["seconds"])
        while True:
            for _ in range(100):
                s3.generate_presigned_url("get_object", Params=params, ExpiresIn=3600)
            count += 100
            now = time.perf_counter()
            if now >= deadline:
                break
        elapsed = now - start
        print(json.dumps({"count": count, "seconds": elapsed, "rate": count / elapsed}), flush=True)


if __name__ == "__main__":
    main()
