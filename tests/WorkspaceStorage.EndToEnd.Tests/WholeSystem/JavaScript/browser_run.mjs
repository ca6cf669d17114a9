// Drives a real browser (Debian's Chromium, headless, through playwright-core) through browser/page.js's cases against
// a real Hypha: one launch for every case. The page is served here on http://localhost:PORT, so its requests to Hypha
// and to S3 (http://127.0.0.1:...) are cross-origin, as a Hypha web app's are. The browser's own network log (DevTools
// protocol) is reported too, so the test can see the preflights and the Origin header the browser really sent.
//
// usage: node browser_run.mjs CASE...   (cases: presignedFetch axiosPut s3Client noCorsControl)
// Environment: HYPHA_SERVER_URL, HYPHA_TOKEN (a user's token), CONTROL_PUT_URL (noCorsControl: a presigned PUT into a
// bucket with no CORS rule), CHROMIUM (default /usr/bin/chromium).
// Prints `RESULT <json>`; exit 1 when the browser could not be driven at all. Query strings (signatures, tokens) are
// never printed.
import { createServer } from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "node_modules"); // the packages' own browser builds are served from here
const hyphaUrl = process.env.HYPHA_SERVER_URL.replace(/\/$/, "");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const out = { timings: {}, cases: {}, network: [], console: [] };
const seconds = (since) => Math.round(performance.now() - since) / 1000;
const withoutQuery = (text) => String(text).replace(/\?[^\s'"]*/g, "?…");

async function bundleAwsSdk() {
  const started = performance.now();
  const built = await esbuild.build({
    entryPoints: [path.join(here, "browser", "aws-s3.entry.js")],
    bundle: true, format: "iife", globalName: "AwsS3", platform: "browser", target: "chrome120", minify: true, write: false, logLevel: "error",
  });
  out.timings.bundle_aws_sdk = seconds(started);
  return built.outputFiles[0].contents;
}

async function serve(files) {
  const server = createServer((req, res) => {
    const file = files[new URL(req.url, "http://localhost").pathname];
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": file.type, "Cache-Control": "no-store" }).end(file.body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/**
 * The browser's own record of its requests to anything but the page (DevTools protocol: unlike Playwright's request
 * events it includes CORS preflights): method, origin, path, the Origin header it sent, status, Access-Control-Allow-Origin.
 */
function recordNetwork(cdp, pageOrigin) {
  const byId = new Map();
  cdp.on("Network.requestWillBeSent", (e) => {
    const url = new URL(e.request.url);
    if (url.origin === pageOrigin || !url.protocol.startsWith("http")) return;
    const entry = { method: e.request.method, origin: url.origin, path: url.pathname, origin_header: e.request.headers.Origin ?? null, status: null, allow_origin: null };
    byId.set(e.requestId, entry);
    out.network.push(entry);
  });
  cdp.on("Network.responseReceived", (e) => {
    const entry = byId.get(e.requestId);
    if (!entry) return;
    const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    entry.status = e.response.status;
    entry.allow_origin = headers["access-control-allow-origin"] ?? null;
  });
  cdp.on("Network.loadingFailed", (e) => {
    const entry = byId.get(e.requestId);
    if (entry && entry.status === null) entry.failed = e.corsErrorStatus?.corsError ?? e.errorText;
  });
}

async function main(cases) {
  const params = {
    presignedFetch: { serverUrl: hyphaUrl, token: process.env.HYPHA_TOKEN },
    axiosPut: { serverUrl: hyphaUrl, token: process.env.HYPHA_TOKEN },
    s3Client: { serverUrl: hyphaUrl, token: process.env.HYPHA_TOKEN },
    noCorsControl: { url: process.env.CONTROL_PUT_URL },
  };
  const unknown = cases.filter((c) => !(c in params));
  if (cases.length === 0 || unknown.length > 0) throw new Error(`cases: ${Object.keys(params).join(" ")} (unknown: ${unknown.join(" ")})`);

  const js = "text/javascript; charset=utf-8";
  const server = await serve({
    "/": { type: "text/html; charset=utf-8", body: await readFile(path.join(here, "browser", "page.html")) },
    "/page.js": { type: js, body: await readFile(path.join(here, "browser", "page.js")) },
    "/hypha-rpc-websocket.min.js": { type: js, body: await readFile(path.join(modules, "hypha-rpc", "dist", "hypha-rpc-websocket.min.js")) },
    "/axios.min.js": { type: js, body: await readFile(path.join(modules, "axios", "dist", "axios.min.js")) },
    "/aws-s3.js": { type: js, body: await bundleAwsSdk() },
  });
  out.page_origin = `http://localhost:${server.address().port}`;
  out.hypha_origin = new URL(hyphaUrl).origin;

  const profile = await mkdtemp(path.join(tmpdir(), "wso-chromium-"));
  let context;
  try {
    const started = performance.now();
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
      timeout: 60_000,
    });
    out.timings.launch = seconds(started);
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") out.console.push(withoutQuery(m.text()).slice(0, 300)); });
    page.on("pageerror", (e) => out.console.push("pageerror: " + withoutQuery(e.message).slice(0, 300)));
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    recordNetwork(cdp, out.page_origin);
    await page.goto(out.page_origin + "/", { waitUntil: "load", timeout: 30_000 });
    out.browser = await page.evaluate(() => navigator.userAgent);
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "ready", null, { timeout: 30_000 });
    for (const name of cases) {
      const caseStarted = performance.now();
      try {
        out.cases[name] = await page.evaluate(([n, p]) => window.storageCases[n](p), [name, params[name]]);
      } catch (e) {
        out.cases[name] = { error: withoutQuery(e.message).slice(0, 500) };
      }
      out.timings[name] = seconds(caseStarted);
    }
  } finally {
    await context?.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

try {
  await main(process.argv.slice(2));
  console.log("RESULT " + JSON.stringify(out));
  process.exit(0);
} catch (e) {
  console.log("BROWSER-FAILED " + withoutQuery(e?.stack ?? e));
  console.log("RESULT " + JSON.stringify(out));
  process.exit(1);
}
