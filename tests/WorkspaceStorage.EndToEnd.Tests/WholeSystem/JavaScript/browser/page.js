// The browser side of the system tests: each case is what a Hypha web app does with public/s3-storage, run in the page
// (its origin is not S3's, so every S3 request here is cross-origin and needs the bucket's CORS rule). browser_run.mjs
// calls them with page.evaluate and reports what they return. Globals: hyphaWebsocketClient (npm hypha-rpc's browser
// build), axios (its browser build), AwsS3 (the AWS SDK v3, bundled by esbuild).
"use strict";

const kw = (args) => ({ ...args, _rkwargs: true });

/** Bytes whose content depends on the seed, so a read-back of another object cannot pass. */
function pattern(size, seed) {
  const bytes = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

async function sha256(data) {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function withStorage(params, work) {
  const api = await hyphaWebsocketClient.connectToServer({ server_url: params.serverUrl, token: params.token, method_timeout: 60 });
  try {
    const s3 = await api.getService("public/s3-storage");
    return await work(api, s3);
  } finally {
    await api.disconnect();
  }
}

/** An error as the page sees it: its class and message (a CORS refusal is a bare TypeError, by design of fetch). */
function describe(error) {
  return `${error?.name ?? "Error"}: ${error?.message ?? error}`;
}

window.storageCases = {
  /** The flow: presigned put_object, fetch PUT straight to S3, get_file, fetch GET, list_files. */
  async presignedFetch(params) {
    return await withStorage(params, async (api, s3) => {
      const key = "browser/fetch.bin";
      const body = pattern(1024 * 1024, 8);
      const put = await s3.generate_presigned_url(key, kw({ client_method: "put_object" }));
      const uploaded = await fetch(put, { method: "PUT", body });
      const get = await s3.get_file(key);
      const read = await fetch(get);
      const back = new Uint8Array(await read.arrayBuffer());
      const listed = await s3.list_files("browser");
      return {
        workspace: api.config.workspace,
        s3_origin: new URL(put).origin,
        put_status: uploaded.status,
        get_status: read.status,
        sent_sha256: await sha256(body),
        read_sha256: await sha256(back),
        read_bytes: back.length,
        listed: listed.map((i) => `${i.name}:${i.size}`),
      };
    });
  },

  /** The seed's example: axios.put of a Blob to a presigned URL, then axios.get through get_file. */
  async axiosPut(params) {
    return await withStorage(params, async (api, s3) => {
      const key = "browser/axios.txt";
      const text = `uploaded by axios from ${location.origin}`;
      const url = await s3.put_file(key);
      const response = await axios.put(url, new Blob([text], { type: "text/plain" }), { headers: { "Content-Type": "text/plain" } });
      const read = await axios.get(await s3.get_file(key), { responseType: "text" });
      return {
        s3_origin: new URL(url).origin,
        put_status: response.status,
        get_status: read.status,
        read_back_matches: read.data === text,
      };
    });
  },

  /** The seed's example: the AWS SDK's S3Client with generate_credential's keys (and session token), confined to the prefix. */
  async s3Client(params) {
    return await withStorage(params, async (api, s3) => {
      const info = await s3.generate_credential();
      const client = new AwsS3.S3Client({
        endpoint: info.endpoint_url,
        region: info.region_name,
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: info.access_key_id, secretAccessKey: info.secret_access_key, sessionToken: info.session_token ?? undefined },
      });
      const key = info.prefix + "browser/sdk.txt";
      const text = `uploaded by S3Client from ${location.origin}`;
      const put = await client.send(new AwsS3.PutObjectCommand({ Bucket: info.bucket, Key: key, Body: text, ContentType: "text/plain" }));
      const got = await client.send(new AwsS3.GetObjectCommand({ Bucket: info.bucket, Key: key }));
      const listed = await client.send(new AwsS3.ListObjectsV2Command({ Bucket: info.bucket, Prefix: info.prefix + "browser/" }));
      let outside;
      try {
        await client.send(new AwsS3.PutObjectCommand({ Bucket: info.bucket, Key: "ws-user-someone-else/from-browser", Body: "x" }));
        outside = "allowed";
      } catch (e) {
        outside = e.name;
      }
      return {
        s3_origin: new URL(info.endpoint_url).origin,
        prefix: info.prefix,
        put_status: put.$metadata.httpStatusCode,
        read_back_matches: (await got.Body.transformToString()) === text,
        listed: (listed.Contents ?? []).map((o) => o.Key.slice(info.prefix.length)),
        outside_write: outside,
      };
    });
  },

  /** Control: the same kind of PUT to a bucket with no CORS rule must be refused by the browser. */
  async noCorsControl(params) {
    try {
      const response = await fetch(params.url, { method: "PUT", body: "must not arrive" });
      return { outcome: `HTTP ${response.status}` };
    } catch (e) {
      return { outcome: describe(e) };
    }
  },
};

document.getElementById("status").textContent = "ready";
