// What the browser tests share: the real citybrain server on a free loopback port with the
// demo district (tier plan on a fast decision cycle), `citybrain sim` to drive it, Debian's
// Chromium through playwright-core (never a downloaded browser), screenshots under
// build/browser/, and a record of every console error and failed request.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const BIN = process.env.CITYBRAIN_BIN ?? join(ROOT, "build/debug/src/citybrain");
export const WEB = process.env.CITYBRAIN_WEB ?? join(ROOT, "web/dist");
export const ARTIFACTS = process.env.CITYBRAIN_ARTIFACTS ?? join(ROOT, "build/browser");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
export const PLAZA = "urn:ngsi-ld:Zone:fountain-plaza";
export const HOSPITAL = "urn:ngsi-ld:PointOfInterest:hubin-hospital";
// The demo users (examples/demo-users.json); their passwords are documented in the README.
export const USERS = {
  operator: ["operator", "hubin-operator"],
  grid: ["grid01", "hubin-grid01"],
  department: ["szj01", "hubin-szj01"],
};

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The server with a temporary store. `cycleSeconds` shortens the fountain plan's decision
// cycle so a simulated evening plays out in seconds.
export async function startServer({ cycleSeconds = 1, extraArgs = [] } = {}) {
  for (const [what, path] of [["the server binary", BIN], ["the built dashboard (scripts/setup.sh --web)", join(WEB, "index.html")], ["Chromium (apt install chromium)", CHROMIUM]]) {
    if (!existsSync(path)) throw new Error(`${what} is missing: ${path}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "citybrain-browser-"));
  const plans = join(dir, "plans");
  mkdirSync(plans);
  const plan = JSON.parse(readFileSync(join(ROOT, "examples/tier-plans/hubin-fountain.json"), "utf8"));
  plan.cycleSeconds = cycleSeconds;
  writeFileSync(join(plans, "hubin-fountain.json"), JSON.stringify(plan));
  const port = await freePort();
  const args = ["serve", "--data", join(dir, "data"), "--port", String(port), "--tier-plans", plans,
    "--rules", join(ROOT, "examples/rules"), "--users", join(ROOT, "examples/demo-users.json"),
    "--web", WEB, "--utc-offset", "480", ...extraArgs];
  const log = [];
  const url = `http://127.0.0.1:${port}`;
  let proc = null;
  const launch = async () => {
    proc = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? "detect_leaks=0" } });
    proc.stdout.on("data", (d) => log.push(String(d)));
    proc.stderr.on("data", (d) => log.push(String(d)));
    for (let i = 0; i < 300; i++) {
      if (proc.exitCode != null) throw new Error(`server exited: ${log.join("")}`);
      try {
        if ((await fetch(`${url}/health`)).ok) return;
      } catch { /* not yet */ }
      await sleep(100);
    }
    throw new Error(`server did not answer: ${log.join("")}`);
  };
  const halt = async () => {
    if (proc && proc.exitCode == null) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await gone;
    }
  };
  await launch();
  const adminKey = readFileSync(join(dir, "data", "admin.key"), "utf8").trim();
  const server = {
    url, port, dir, adminKey, log,
    async api(method, path, body) {
      const res = await fetch(url + path, {
        method, headers: { "X-Api-Key": adminKey, "Content-Type": "application/json", Accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    // Stops the server (SIGTERM) and, after `whileDown`, starts it again on the same port
    // and store.
    async restart(whileDown = async () => {}) {
      await halt();
      await whileDown();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

// `citybrain sim` against the server (counters over HTTP: no broker needed).
export function runSim(server, args) {
  const keyFile = join(server.dir, "data", "admin.key");
  const proc = spawn(BIN, ["sim", "--url", server.url, "--key-file", keyFile, "--no-mqtt",
    "--district", join(ROOT, "examples/demo-city.json"), ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" } });
  const out = [];
  proc.stdout.on("data", (d) => out.push(String(d)));
  proc.stderr.on("data", (d) => out.push(String(d)));
  return {
    out,
    done: new Promise((ok) => proc.once("exit", (code) => ok(code))),
    stop() { if (proc.exitCode == null) proc.kill("SIGTERM"); },
  };
}

export async function launchBrowser() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist"],
  });
}

// A page that records console errors, page errors and failed requests in `problems`.
export async function openPage(browser, server, problems, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: "zh-CN", timezoneId: "Asia/Shanghai", ...options });
  const page = await context.newPage();
  const tag = `${options.viewport?.width ?? 1920}x${options.viewport?.height ?? 1080}`;
  page.on("console", (m) => { if (m.type() === "error") problems.push(`[${tag}] console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`[${tag}] page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    const f = r.failure()?.errorText ?? "";
    // Navigations away and closed streams abort requests on purpose.
    if (!/ERR_ABORTED/.test(f)) problems.push(`[${tag}] request failed: ${r.url()} ${f}`);
  });
  page.on("response", (r) => { if (r.status() >= 500) problems.push(`[${tag}] HTTP ${r.status()} ${r.url()}`); });
  await page.goto(server.url + (options.path ?? "/"));
  return page;
}

export async function signIn(page, [user, password]) {
  await page.fill("#signin input[name=user]", user);
  await page.fill("#signin input[name=password]", password);
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

// A small valid PNG (8×8, red), for photo uploads.
export const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000080000000808020000004b6d29dc0000001149444154789c633861638315310c2d090065995001520faf530000000049454e44ae426082",
  "hex");
