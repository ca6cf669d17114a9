#!/usr/bin/python3
"""Baseline and client of bench row 9: temporary credential latency, from a plain script.

mode "sts": one raw STS AssumeRole call to RGW with the admin key (boto3), the same role, duration and session
policy the API's generate_credential uses. mode "api": POST /{W}/services/s3-storage/generate_credential to the
API with a Hypha token, over one kept-alive connection (http.client). Both are timed the same way, per call.

Reads one JSON request per line on stdin: {"mode": "sts"|"api", "count": N, "warmup": M}; answers
{"latencies_ms": [...]}. Secrets come from the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (admin),
BENCH_S3_ENDPOINT, BENCH_S3_REGION, BENCH_ROLE_ARN, BENCH_SESSION_POLICY, BENCH_API_URL, BENCH_WORKSPACE, BENCH_TOKEN.
"""
import http.client
import json
import os
import sys
import time
import urllib.parse

import boto3
from botocore.config import Config


def main():
    sts = boto3.client(
        "sts",
        endpoint_url=os.environ["BENCH_S3_ENDPOINT"],
        region_name=os.environ.get("BENCH_S3_REGION", "us-east-1"),
        config=Config(retries={"max_attempts": 1}),
    )
    api = urllib.parse.urlsplit(os.environ["BENCH_API_URL"])
    connection = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    path = "/%s/services/s3-storage/generate_credential" % os.environ["BENCH_WORKSPACE"]
    headers = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Content-Type": "application/json"}
    body = json.dumps({"expires_in": 900})

    def raw_sts():
        answer = sts.assume_role(
            RoleArn=os.environ["BENCH_ROLE_ARN"],
            RoleSessionName="bench-raw",
            DurationSeconds=900,
            Policy=os.environ["BENCH_SESSION_POLICY"],
        )
        assert answer["Credentials"]["AccessKeyId"]

    def through_api():
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError("generate_credential answered %d" % response.status)
        assert json.loads(payload)["access_key_id"]

    for line in sys.stdin:
        request = json.loads(line)
        call = raw_sts if request["mode"] == "sts" else through_api
        for _ in range(int(request.get("warmup", 5))):
            call()
        latencies = []
        for _ in range(int(request["count"])):
            start = time.perf_counter()
            call()
            latencies.append((time.perf_counter() - start) * 1000.0)
        print(json.dumps({"latencies_ms": latencies}), flush=True)


if __name__ == "__main__":
    main()
