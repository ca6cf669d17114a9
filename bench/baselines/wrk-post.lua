-- wrk script of bench row 2: POST generate_presigned_url with a JSON body and a Hypha token.
-- The token comes from the environment (BENCH_TOKEN), never from the command line.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
