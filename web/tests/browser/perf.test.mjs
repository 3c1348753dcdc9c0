// How the wallboard performs: the initial load with the demo district (navigation to the
// map and panels ready), and frame times while the map is panned with 10,000 sensors and
// 1,000 active alerts on it and readings streaming in, against the same pan over the demo
// district alone (the baseline, measured in the same run). Figures go to
// build/browser/perf.json; bench/run.sh copies them into docs/BENCHMARKS.md.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, runSim, launchBrowser, openPage, signIn, shot, USERS, ARTIFACTS } from "./harness.mjs";

const SENSORS = Number(process.env.PERF_SENSORS ?? 10_000);
const ALERTS = Number(process.env.PERF_ALERTS ?? 1_000);
const PAN_MS = Number(process.env.PERF_PAN_MS ?? 5_000);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { frames: s.length, meanMs: +mean.toFixed(2), p50Ms: +q(0.5).toFixed(2), p95Ms: +q(0.95).toFixed(2), p99Ms: +q(0.99).toFixed(2), maxMs: +s[s.length - 1].toFixed(2), fps: +(1000 / mean).toFixed(1) };
}

// Pans the map with the mouse back and forth for `ms` and returns the frame intervals the
// page saw meanwhile, with the main thread's busy time per frame (Chromium's own task and
// script durations, over DevTools' Performance domain). Without a GPU, SwiftShader draws
// in the GPU process and sets the frame interval; the page's own work per frame is what a
// GPU would leave (16.7 ms is the budget of 60 fps).
async function panFrames(page, ms) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const metric = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const before = await metric();
  const box = await page.locator("#map").boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    window.__measuring = true;
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (window.__measuring) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const end = Date.now() + ms;
  let dir = 1;
  while (Date.now() < end) {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(cx + dir * i * 15, cy + dir * i * 6);
    await page.mouse.up();
    dir = -dir;
  }
  const frames = await page.evaluate(() => {
    window.__measuring = false;
    return window.__frames.slice(1);
  });
  const after = await metric();
  const n = Math.max(1, frames.length);
  return {
    frames,
    mainMsPerFrame: +(((after.TaskDuration - before.TaskDuration) * 1000) / n).toFixed(2),
    scriptMsPerFrame: +(((after.ScriptDuration - before.ScriptDuration) * 1000) / n).toFixed(2),
  };
}

// Frame statistics plus the main thread's share.
function panStats(pan) {
  return { ...stats(pan.frames), mainMsPerFrame: pan.mainMsPerFrame, scriptMsPerFrame: pan.scriptMsPerFrame };
}

describe("wallboard performance", () => {
  let server, browser;
  const problems = [];
  const result = { sensors: SENSORS, alerts: ALERTS, panMs: PAN_MS, chromium: null };

  before(async () => {
    server = await startServer({ cycleSeconds: 60 });
    await runSim(server, ["--start", "17:00", "--end", "17:02", "--speed", "600"]).done;
    browser = await launchBrowser();
    result.chromium = browser.version();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    writeFileSync(join(ARTIFACTS, "perf.json"), JSON.stringify(result, null, 2));
    // One line for bench/run.sh (key=value, as the other benchmarks print).
    const b = result.baseline ?? {}, l = result.loaded ?? {};
    console.log(`RESULT name=dashboard sensors=${SENSORS} alerts=${ALERTS} pan_ms=${PAN_MS} ` +
      `load_median_ms=${result.load?.medianMs} load_runs_ms=${(result.load?.runs ?? []).join(",")} health_rtt_ms=${result.load?.healthRoundTripMs} ` +
      `loaded_ready_ms=${result.loadedWithSensorsMs} base_frames=${b.frames} base_mean_ms=${b.meanMs} base_p95_ms=${b.p95Ms} base_max_ms=${b.maxMs} ` +
      `base_main_ms_per_frame=${b.mainMsPerFrame} main_ms_per_frame=${l.mainMsPerFrame} script_ms_per_frame=${l.scriptMsPerFrame} ` +
      `frames=${l.frames} mean_ms=${l.meanMs} p50_ms=${l.p50Ms} p95_ms=${l.p95Ms} p99_ms=${l.p99Ms} max_ms=${l.maxMs} fps=${l.fps} ` +
      `ratio_mean=${result.ratioMean} ratio_p95=${result.ratioP95} chromium=${String(result.chromium).replace(/\s+/g, "_")}`);
  });

  it("loads the demo district quickly", async () => {
    const page = await openPage(browser, server, problems);
    await signIn(page, USERS.operator);
    const loads = [];
    for (let i = 0; i < 5; i++) {
      await page.reload();
      await page.waitForSelector("body[data-ready='1'][data-map-ready='1']");
      await page.waitForSelector(".zone-label");
      loads.push(await page.evaluate(() => performance.now()));
    }
    // The same server answering a bare request (the HTTP floor for a page).
    const t0 = performance.now();
    for (let i = 0; i < 5; i++) await (await fetch(server.url + "/health")).text();
    result.load = { medianMs: +loads.sort((a, b) => a - b)[2].toFixed(0), runs: loads.map((x) => +x.toFixed(0)), healthRoundTripMs: +((performance.now() - t0) / 5).toFixed(2) };
    result.baseline = panStats(await panFrames(page, PAN_MS));
    await page.context().close();
    assert.ok(result.load.medianMs > 0);
  });

  it(`pans smoothly with ${SENSORS} sensors and ${ALERTS} alerts`, async () => {
    // Sensors spread over the district; the first ALERTS of them over a rule's threshold.
    await server.api("POST", "/api/v1/rules", {
      id: "perf-busy-counter", name: { "zh-CN": "计数过高", en: "Counter high" }, entityType: "CrowdFlowObserved",
      when: { attribute: "peopleCount", op: ">=", value: 900 }, severity: "IV", category: "crowd",
    });
    const batch = [];
    for (let i = 0; i < SENSORS; i++) {
      const lon = 120.158 + ((i % 100) / 100) * 0.018, lat = 30.248 + (Math.floor(i / 100) / 100) * 0.02;
      batch.push({ id: `urn:ngsi-ld:CrowdFlowObserved:perf-${i}`, type: "CrowdFlowObserved",
        peopleCount: { type: "Property", value: i < ALERTS ? 950 : 100 },
        location: { type: "GeoProperty", value: { type: "Point", coordinates: [+lon.toFixed(6), +lat.toFixed(6)] } } });
      if (batch.length === 1000 || i === SENSORS - 1) {
        await server.api("POST", "/ngsi-ld/v1/entityOperations/upsert", batch.splice(0));
      }
    }
    const page = await openPage(browser, server, problems);
    const t0 = Date.now();
    await signIn(page, USERS.operator);
    await page.waitForSelector("body[data-map-ready='1']");
    await page.waitForFunction((n) => {
      const v = document.querySelector("[data-kpi=active-alerts] .kpi-value")?.textContent?.replace(/[^0-9]/g, "");
      return Number(v) >= n;
    }, ALERTS, { timeout: 120_000 });
    result.loadedWithSensorsMs = Date.now() - t0;
    // Readings keep streaming while the map moves.
    let stop = false;
    const updater = (async () => {
      let n = 0;
      while (!stop) {
        const ops = [];
        for (let k = 0; k < 100; k++, n++) ops.push({ id: `urn:ngsi-ld:CrowdFlowObserved:perf-${ALERTS + (n % (SENSORS - ALERTS))}`, type: "CrowdFlowObserved", peopleCount: { type: "Property", value: 100 + (n % 50) } });
        await server.api("POST", "/ngsi-ld/v1/entityOperations/update", ops);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const pan = await panFrames(page, PAN_MS);
    stop = true;
    await updater;
    result.loaded = panStats(pan);
    result.ratioMean = +(result.loaded.meanMs / result.baseline.meanMs).toFixed(2);
    result.ratioP95 = +(result.loaded.p95Ms / result.baseline.p95Ms).toFixed(2);
    await shot(page, "perf-10k-sensors");

    // Zoomed in to a street (double-clicks until the view is a few hundred metres wide),
    // only the counters around the view are on the map; a pan of most of a view draws
    // those of the new place.
    const counters = async () => (await page.getAttribute("#map", "data-counters")).split("/").map(Number);
    const box = await page.locator("#map").boundingBox();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    let zoomedIn = false;
    for (let i = 0; i < 8 && !zoomedIn; i++) {
      await page.mouse.dblclick(cx, cy);
      zoomedIn = await page.waitForFunction(() => {
        const [drawn, total] = document.querySelector("#map").dataset.counters.split("/").map(Number);
        return drawn > 0 && drawn < total / 4;
      }, null, { timeout: 4000 }).then(() => true, () => false);
    }
    assert.ok(zoomedIn, `zoomed in, still ${await page.getAttribute("#map", "data-counters")} counters drawn`);
    const [near, total] = await counters();
    assert.ok(total >= SENSORS);  // (and the demo district's own)
    const area = await page.getAttribute("#map", "data-counters-area");
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(cx - i * box.width * 0.08, cy);
    await page.mouse.up();
    await page.waitForFunction((before) => document.querySelector("#map").dataset.countersArea !== before, area, { timeout: 30000 });
    const [moved] = await counters();
    assert.ok(moved > 0 && moved < total / 4, `after the pan ${moved} of ${total} counters drawn (before it ${near})`);
    await shot(page, "perf-10k-sensors-street");
    await page.context().close();
    assert.ok(result.loaded.frames > 0);
    assert.deepEqual(problems, []);
  });
});
