// Hypha's real JavaScript client (npm hypha-rpc) using public/s3-storage in Node.js, for the system tests: the same
// flows as ../Python/storage_client.py.
//
// usage: node storage_client.mjs COMMAND...
// Environment: HYPHA_SERVER_URL, HYPHA_TOKEN (a user's token), COUNT (sizes).
// Prints `RESULT <json>` with what it observed, and `CHECK-FAILED <reason>` (exit 1) when an expectation fails.
// Keyword arguments: hypha-rpc in JavaScript sends a trailing object as keyword arguments only when it carries
// `_rkwargs: true` (Python's client sends real keyword arguments); the calls below mark them so.
import { hyphaWebsocketClient } from "hypha-rpc";
import { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import axios from "axios";
import { readFileSync } from "node:fs";

const URL_ = process.env.HYPHA_SERVER_URL.replace(/\/$/, "");
const hyphaRpcVersion = JSON.parse(readFileSync(new URL("./node_modules/hypha-rpc/package.json", import.meta.url))).version;
const out = {};

class CheckFailed extends Error {}

function check(cond, msg) {
  if (!cond) {
    throw new CheckFailed(msg);
  }
}

const kw = (args) => ({ ...args, _rkwargs: true });

async function connect(token = process.env.HYPHA_TOKEN, workspace = undefined) {
  const config = { server_url: URL_, method_timeout: 60 };
  if (token) config.token = token;
  if (workspace) config.workspace = workspace;
  return await hyphaWebsocketClient.connectToServer(config);
}

function s3Client(info) {
  return new S3Client({
    endpoint: info.endpoint_url,
    region: info.region_name,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: info.access_key_id, secretAccessKey: info.secret_access_key, sessionToken: info.session_token ?? undefined },
  });
}

/** The S3 error code of a refused command, or "allowed". */
async function refusal(send) {
  try {
    await send();
    return "allowed";
  } catch (e) {
    return e.name || e.Code || String(e);
  }
}

/** The error message of a refused Hypha call, or "allowed". */
async function rpcRefusal(call) {
  try {
    await call();
    return "allowed";
  } catch (e) {
    return String(e.message ?? e).slice(0, 200);
  }
}

async function httpPut(url, body) {
  const r = await fetch(url, { method: "PUT", body });
  return r;
}

async function credential_upload(api) {
  // generate_credential, then the AWS SDK v3 under the prefix (with the session token); the bucket root listing and
  // writes outside the prefix are AccessDenied.
  const s3 = await api.getService("public/s3-storage");
  const info = await s3.generate_credential();
  out.workspace = api.config.workspace;
  out.prefix = info.prefix;
  out.access = info.access;
  out.has_session_token = typeof info.session_token === "string" && info.session_token.length > 0;
  check(info.prefix === api.config.workspace + "/", `prefix ${info.prefix} is not the caller's workspace`);
  const client = s3Client(info);
  const key = info.prefix + "aws-sdk-js/hello.txt";
  await client.send(new PutObjectCommand({ Bucket: info.bucket, Key: key, Body: "hello from the AWS SDK for JavaScript" }));
  const got = await client.send(new GetObjectCommand({ Bucket: info.bucket, Key: key }));
  check((await got.Body.transformToString()) === "hello from the AWS SDK for JavaScript", "read back differs");
  out.root_listing = await refusal(() => client.send(new ListObjectsV2Command({ Bucket: info.bucket })));
  out.outside_write = await refusal(() => client.send(new PutObjectCommand({ Bucket: info.bucket, Key: "ws-user-someone-else/x", Body: "x" })));
  out.sibling_prefix_write = await refusal(() => client.send(new PutObjectCommand({ Bucket: info.bucket, Key: info.prefix.slice(0, -1) + "x/evil", Body: "x" })));
  check(out.root_listing === "AccessDenied" && out.outside_write === "AccessDenied" && out.sibling_prefix_write === "AccessDenied",
    `escaped the prefix: ${out.root_listing} ${out.outside_write} ${out.sibling_prefix_write}`);
}

async function presigned_http(api) {
  // Presigned put_object then get_object, with fetch and with axios; the axios pair through the camel-case service.
  const s3 = await api.getService("public/s3-storage");
  const camel = await api.getService("public/s3-storage", { case_conversion: "camel" });
  {
    const put = await s3.generate_presigned_url("presigned/fetch.txt", kw({ client_method: "put_object" }));
    const get = await s3.generate_presigned_url("presigned/fetch.txt", kw({ client_method: "get_object" }));
    out.presigned_origin = new URL(put).origin;
    const r = await httpPut(put, "via fetch");
    check(r.status === 200, `fetch PUT ${r.status} ${(await r.text()).slice(0, 200)}`);
    const g = await fetch(get);
    check(g.status === 200 && (await g.text()) === "via fetch", `fetch GET ${g.status}`);
  }
  {
    const put = await camel.generatePresignedUrl("presigned/axios.txt", kw({ client_method: "put_object" }));
    const get = await camel.generatePresignedUrl("presigned/axios.txt", kw({ client_method: "get_object" }));
    const r = await axios.put(put, "via axios", { headers: { "Content-Type": "text/plain" }, validateStatus: () => true });
    check(r.status === 200, `axios PUT ${r.status}`);
    const g = await axios.get(get, { responseType: "text", validateStatus: () => true });
    check(g.status === 200 && g.data === "via axios", `axios GET ${g.status}`);
  }
  // A trailing object without _rkwargs is one more positional argument, as hypha-rpc sends it: the service refuses it
  // as client_method rather than guessing.
  out.plain_object_argument = await rpcRefusal(() => s3.generate_presigned_url("presigned/plain.txt", { client_method: "put_object" }));
  out.presigned = "ok";
}

async function file_functions(api) {
  // list_files, put_file/get_file single and batch, multipart with 3 parts, remove_file.
  const s3 = await api.getService("public/s3-storage");
  const url = await s3.put_file("docs/single.txt");
  check((await httpPut(url, "single")).status === 200, "put_file single");
  check((await (await fetch(await s3.get_file("docs/single.txt"))).text()) === "single", "get_file single");
  const batch = ["docs/a.txt", "docs/b.txt", "docs/c.txt"];
  const urls = await s3.put_file(batch);
  check(JSON.stringify(Object.keys(urls).sort()) === JSON.stringify(batch), `batch put_file keys ${Object.keys(urls)}`);
  for (const p of batch) {
    check((await httpPut(urls[p], p)).status === 200, `batch PUT ${p}`);
  }
  const gets = await s3.get_file(batch);
  for (const p of batch) {
    check((await (await fetch(gets[p])).text()) === p, `batch GET ${p}`);
  }
  const names = (await s3.list_files("docs")).map((i) => i.name).sort();
  check(JSON.stringify(names) === JSON.stringify(["a.txt", "b.txt", "c.txt", "single.txt"]), `list_files docs ${names}`);
  const part = 5 * 1024 * 1024;
  const chunks = [Buffer.alloc(part, "1"), Buffer.alloc(part, "2"), Buffer.alloc(part / 2, "3")];
  const started = await s3.put_file_start_multipart("big/multi.bin", kw({ part_count: 3 }));
  check(started.parts.length === 3, `multipart parts ${started.parts.length}`);
  const etags = [];
  for (const [i, p] of started.parts.entries()) {
    const r = await httpPut(p.url, chunks[i]);
    check(r.status === 200 && r.headers.get("etag"), `part ${p.part_number}: ${r.status}`);
    etags.push({ part_number: p.part_number, etag: r.headers.get("etag") });
  }
  const done = await s3.put_file_complete_multipart(kw({ upload_id: started.upload_id, parts: etags }));
  check(done.success === true, `complete ${JSON.stringify(done)}`);
  const whole = Buffer.from(await (await fetch(await s3.get_file("big/multi.bin"))).arrayBuffer());
  check(whole.equals(Buffer.concat(chunks)), "multipart read back differs");
  out.multipart_bytes = whole.length;
  const removed = await s3.remove_file("docs/a.txt");
  check(removed.success === true, `remove_file ${JSON.stringify(removed)}`);
  const missing = await s3.remove_file("docs/a.txt");
  check(missing.success === false && missing.message.includes("Path does not exist"), `remove missing ${JSON.stringify(missing)}`);
  const removedDir = await s3.remove_file("docs/");
  check(removedDir.success === true, `remove_file dir ${JSON.stringify(removedDir)}`);
  check((await s3.list_files("docs")).length === 0, "docs/ not empty after removal");
  out.files = "ok";
}

async function read_only_member(api) {
  // A member with read permission (a token the owner minted): lists and reads, cannot put, delete or get rw credentials.
  const s3 = await api.getService("public/s3-storage");
  check((await httpPut(await s3.put_file("shared/readme.txt"), "for readers")).status === 200, "owner's put");
  const readerToken = await api.generateToken({ permission: "read", expires_in: 600 });
  const reader = await connect(readerToken, api.config.workspace);
  try {
    const rs3 = await reader.getService("public/s3-storage");
    out.reader_ws = reader.config.workspace;
    const listed = (await rs3.list_files("shared")).map((i) => i.name);
    check(JSON.stringify(listed) === JSON.stringify(["readme.txt"]), `reader list ${listed}`);
    check((await (await fetch(await rs3.get_file("shared/readme.txt"))).text()) === "for readers", "reader get_file");
    out.reader_refusals = {
      put_file: await rpcRefusal(() => rs3.put_file("shared/evil.txt")),
      presign_put: await rpcRefusal(() => rs3.generate_presigned_url("shared/evil.txt", kw({ client_method: "put_object" }))),
      remove_file: await rpcRefusal(() => rs3.remove_file("shared/readme.txt")),
    };
    check(Object.values(out.reader_refusals).every((v) => v.includes("PermissionError")), `reader not refused: ${JSON.stringify(out.reader_refusals)}`);
    const creds = await rs3.generate_credential();
    out.reader_credential_access = creds.access;
    check(creds.access === "r", `reader got ${creds.access} credentials`);
    out.reader_credential_write = await refusal(() => s3Client(creds).send(new PutObjectCommand({ Bucket: creds.bucket, Key: creds.prefix + "x", Body: "x" })));
    check(out.reader_credential_write === "AccessDenied", `read-only credentials could write: ${out.reader_credential_write}`);
  } finally {
    await reader.disconnect();
  }
}

const COMMANDS = { credential_upload, presigned_http, file_functions, read_only_member };

async function main(names) {
  const unknown = names.filter((n) => !(n in COMMANDS));
  if (unknown.length > 0 || names.length === 0) {
    throw new CheckFailed(`commands: ${Object.keys(COMMANDS).join(" ")} (unknown: ${unknown.join(" ")})`);
  }
  const api = await connect();
  out.user = api.config.user?.id ?? null;
  out.client = `hypha-rpc ${hyphaRpcVersion} on Node.js ${process.version}`;
  try {
    for (const name of names) {
      const started = performance.now();
      await COMMANDS[name](api);
      (out.seconds ??= {})[name] = Math.round(performance.now() - started) / 1000;
    }
  } finally {
    await api.disconnect();
  }
}

try {
  await main(process.argv.slice(2));
  console.log("RESULT " + JSON.stringify(out));
  process.exit(0);
} catch (e) {
  console.log("CHECK-FAILED " + (e instanceof CheckFailed ? e.message : String(e?.stack ?? e)));
  console.log("RESULT " + JSON.stringify(out));
  process.exit(1);
}
