// The wallboard in a real browser against the real server: sign in; the fountain plaza
// turns from level 3 to 2 to 1 as the simulated surge comes, with the alert in the feed;
// acknowledge it; parking guidance for the hospital; a case reported by a grid worker on a
// phone, dispatched by the operator, resolved by the department with a photo and rated by
// the reporter, with the KPIs moving; the language switch; no console errors. Screenshots
// of each step go to build/browser/.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, runSim, launchBrowser, openPage, signIn, shot, USERS, PLAZA, HOSPITAL, PNG } from "./harness.mjs";

describe("wallboard", () => {
  let server, browser, ops, problems = [];
  let caseId;

  before(async () => {
    server = await startServer({ cycleSeconds: 1 });
    // The district exists before anyone looks (the sim upserts it again at its start).
    await runSim(server, ["--start", "17:00", "--end", "17:01", "--speed", "600"]).done;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (server) {
      if (problems.length) console.log(server.log.join("").slice(-4000));
      await server.stop();
    }
  });

  it("signs in and shows the district", async () => {
    ops = await openPage(browser, server, problems);
    await ops.waitForSelector("#signin");
    await shot(ops, "01-sign-in");
    // A wrong password is refused with a message, and nothing else happens.
    await ops.fill("#signin input[name=user]", "operator");
    await ops.fill("#signin input[name=password]", "not-the-password");
    await ops.click("#signin button[type=submit]");
    await ops.waitForSelector("#signin .error:not(:empty)");
    assert.match(await ops.textContent("#signin .error"), /用户名或密码错误/);
    await signIn(ops, USERS.operator);
    await ops.waitForSelector("body[data-map-ready='1']");
    await ops.waitForSelector(`.zone-label[data-zone='${PLAZA}']`);
    await ops.waitForSelector("#link[data-state='open']");
    assert.equal(await ops.textContent("header h1"), "城市大脑 · 一屏观城");
    await shot(ops, "02-signed-in");
  });

  it("sees the fountain plaza go from level 3 to 2 to 1 as the surge comes, with the alert in the feed", async () => {
    // Record every level the plaza's label shows, as the page changes it.
    await ops.evaluate((plaza) => {
      const el = document.querySelector(`.zone-label[data-zone='${plaza}']`);
      window.__levels = [Number(el.dataset.level)];
      new MutationObserver(() => {
        const l = Number(el.dataset.level);
        if (window.__levels[window.__levels.length - 1] !== l) window.__levels.push(l);
      }).observe(el, { attributes: true, attributeFilter: ["data-level"] });
    }, PLAZA);
    // 18:20 → 19:05 of the evening at 2 simulated minutes a second: the crowd gathers
    // for the 19:00 show.
    const sim = runSim(server, ["--start", "18:20", "--end", "19:05", "--speed", "120"]);
    try {
      for (const level of [3, 2, 1]) {
        await ops.waitForFunction((l) => window.__levels.includes(l), level, { timeout: 120_000 });
        await shot(ops, `03-plaza-level-${level}`);
      }
    } finally {
      sim.stop();
    }
    const levels = await ops.evaluate(() => window.__levels);
    const seen = levels.filter((l) => l !== 0);
    assert.deepEqual(seen.slice(0, 3), [3, 2, 1], `levels shown: ${levels}`);
    const label = await ops.textContent(`.zone-label[data-zone='${PLAZA}'] .tier-badge`);
    assert.equal(label, "一级", "the tier is named, not only coloured");
    // The plaza's alert is in the feed at level I.
    const alert = ops.locator(".alert[data-level='1']").first();
    await alert.waitFor({ timeout: 30_000 });
    assert.match(await alert.textContent(), /Ⅰ级/);
    await shot(ops, "04-alert-in-feed");
  });

  it("acknowledges the alert and opens the zone's plan", async () => {
    const alert = ops.locator(".alert[data-level='1']").first();
    const id = await alert.getAttribute("data-alert");
    await alert.locator("button.ack").click();
    await ops.waitForSelector(`.alert[data-alert='${id}'].state-acknowledged`);
    const stored = await server.api("GET", `/api/v1/alerts/${encodeURIComponent(id)}`);
    assert.equal(stored.state, "acknowledged");
    assert.equal(stored.acknowledgedBy, "operator");
    await ops.locator(`.alert[data-alert='${id}'] button.plan`).click();
    await ops.waitForSelector(`#detail .zone-detail[data-zone='${PLAZA}'] .plan-actions`);
    await ops.waitForSelector("#detail .chart-count canvas");
    await shot(ops, "05-acknowledged-plan");
  });

  it("opens parking guidance for the hospital", async () => {
    await ops.click(`#parking button[data-poi='${HOSPITAL}']`);
    await ops.waitForSelector(`#parking .guidance-list li[data-lot]`);
    const total = await ops.textContent("#parking .guidance-total");
    assert.match(total, /米内/);
    await shot(ops, "06-parking-guidance");
  });

  it("a grid worker reports a case with a photo on a phone", async () => {
    const phone = await openPage(browser, server, problems, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await signIn(phone, USERS.grid);
    await phone.waitForSelector("#worker .report-form");
    await phone.waitForFunction(() => document.querySelectorAll(".report-form select[name=category] option").length > 5);
    await phone.selectOption(".report-form select[name=category]", "0106");
    await phone.fill(".report-form textarea[name=description]", "湖滨路井盖缺失，有行人跌落危险");
    await phone.setInputFiles(".report-form input[name=photo]", { name: "cover.png", mimeType: "image/png", buffer: PNG });
    await phone.waitForSelector(".worker-map canvas");
    const box = await phone.locator(".worker-map").boundingBox();
    await phone.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await phone.waitForFunction(() => /\d+\.\d+/.test(document.querySelector(".report-form .where").textContent));
    await phone.click(".report-form button[type=submit]");
    await phone.waitForSelector(".report-form[data-last-case]");
    caseId = await phone.getAttribute(".report-form", "data-last-case");
    await shot(phone, "07-grid-worker-report");
    const c = await server.api("GET", `/api/v1/cases/${caseId}`);
    assert.equal(c.state, "reported");
    assert.equal(c.source, "grid_worker");
    assert.equal(c.reporter.id, "grid01");
    assert.equal(c.photos.length, 1);
    await phone.context().close();
  });

  async function act(page, action, fill = async () => {}) {
    await page.click(`#detail .case-detail button[data-action='${action}']`);
    await fill(page.locator(`#detail form.action-form[data-action='${action}']`));
    await page.click(`#detail form.action-form[data-action='${action}'] button[type=submit]`);
  }

  it("the operator dispatches it", async () => {
    this_kpis = await kpis(ops);
    await ops.waitForSelector(`#cases li[data-case='${caseId}']`, { timeout: 15_000 });
    await ops.click(`#cases li[data-case='${caseId}'] button`);
    await ops.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='reported']`);
    await act(ops, "accept");
    await ops.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='accepted']`);
    await act(ops, "dispatch", async (f) => f.locator("select[name=department]").selectOption("szj"));
    await ops.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='dispatched']`);
    await ops.waitForSelector(`#detail .case-detail .sla`);
    await shot(ops, "08-operator-dispatched");
  });

  it("the department resolves it with a photo, on a laptop screen", async () => {
    const dept = await openPage(browser, server, problems, { viewport: { width: 1366, height: 768 } });
    await signIn(dept, USERS.department);
    await dept.waitForSelector(`#cases li[data-case='${caseId}']`, { timeout: 15_000 });
    await dept.click(`#cases li[data-case='${caseId}'] button`);
    await dept.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='dispatched']`);
    await act(dept, "start");
    await dept.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='in_progress']`);
    await act(dept, "resolve", async (f) => {
      await f.locator("textarea[name=result]").fill("已补装井盖");
      await f.locator("input[name=photo]").setInputFiles({ name: "fixed.png", mimeType: "image/png", buffer: PNG });
    });
    await dept.waitForSelector(`#detail .case-detail[data-case='${caseId}'][data-state='resolved']`);
    await dept.waitForSelector(`#detail .case-detail .photos img[src^='blob:']`);
    // The whole wallboard fits the laptop: the map, both columns, no page scroll.
    const fit = await dept.evaluate(() => ({
      page: document.documentElement.scrollHeight <= innerHeight && document.documentElement.scrollWidth <= innerWidth,
      map: document.querySelector("#map").clientWidth,
      header: document.querySelector("header.top").scrollWidth <= innerWidth,
    }));
    assert.ok(fit.page && fit.header, "the 1366×768 layout fits the screen");
    assert.ok(fit.map >= 600, `the map keeps room on a laptop (${fit.map} px)`);
    await shot(dept, "09-department-resolved-1366x768");
    const c = await server.api("GET", `/api/v1/cases/${caseId}`);
    assert.equal(c.resultPhotos.length, 1);
    assert.equal(c.result, "已补装井盖");
    await dept.context().close();
  });

  it("the reporter verifies and rates it on the phone, and the KPIs move", async () => {
    const phone = await openPage(browser, server, problems, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await signIn(phone, USERS.grid);
    await phone.click("#worker button[data-tab=mine]");
    const item = phone.locator(`.my-cases li[data-case='${caseId}']`);
    await item.locator("button[data-action=verify]").click();
    await phone.waitForSelector(`.my-cases li[data-case='${caseId}'][data-state='verified']`);
    await phone.locator(`.my-cases li[data-case='${caseId}'] button[data-action=rate]`).click();
    await phone.selectOption(`.my-cases li[data-case='${caseId}'] select[name=rating]`, "5");
    await phone.click(`.my-cases li[data-case='${caseId}'] form button[type=submit]`);
    await phone.waitForSelector(`.my-cases li[data-case='${caseId}'][data-state='rated']`);
    await shot(phone, "10-reporter-rated");
    await phone.context().close();
    // The operator's KPIs: satisfaction now measured (100 %), one case fewer waiting.
    await ops.waitForFunction(() => /100/.test(document.querySelector("[data-kpi=satisfaction] .kpi-value")?.textContent ?? ""), null, { timeout: 15_000 });
    const now = await kpis(ops);
    assert.notDeepEqual(now, this_kpis, "the KPIs moved");
    await ops.waitForSelector("#kpis .chart-dept canvas");
    await shot(ops, "11-kpis");
  });

  it("switches language", async () => {
    await ops.selectOption("#language", "en");
    await ops.waitForFunction(() => document.querySelector("header h1").textContent === "CityBrain · City at a glance");
    assert.equal(await ops.textContent(`.zone-label[data-zone='${PLAZA}'] .tier-badge`), "Level 1");
    assert.match(await ops.textContent("#alerts"), /Level I \(red\)/);
    assert.match(await ops.textContent("#kpis"), /Satisfaction/);
    // No Chinese left in the interface: headings, buttons, labels, badges, options (the
    // data's own names carry English too: zones, categories, departments, places).
    const stray = await ops.evaluate(() => [...document.querySelectorAll(
      "h1, h2, h3, h4, button, label, legend, option, dt, .kpi-label, .alert-level, .alert-meta, .tier-badge, .case-state, .sla, #link, .replay-bar")]
      .map((e) => e.textContent.trim()).filter((s) => /[\u4e00-\u9fff]/.test(s) && s !== "中文"));
    assert.deepEqual(stray, []);
    await shot(ops, "12-english");
    await ops.selectOption("#language", "zh-CN");
    await ops.waitForFunction(() => document.querySelector("header h1").textContent === "城市大脑 · 一屏观城");
  });

  it("shows when it is disconnected and reconnects by itself", async () => {
    const before = problems.length;
    await server.restart(async () => {
      await ops.waitForSelector("#link[data-state='closed']", { timeout: 15_000 });
      assert.match(await ops.textContent("#link"), /连接中断/);
      await shot(ops, "13-disconnected");
    });
    await ops.waitForSelector("#link[data-state='open']", { timeout: 30_000 });
    // While the server was down the browser logged its refused connections: expected.
    const down = problems.splice(before);
    problems.push(...down.filter((p) => !/WebSocket|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|Failed to load resource/.test(p)));
    // Live again without a reload: an alert resolved now leaves the feed.
    const id = await ops.locator(".alert[data-level='1']").first().getAttribute("data-alert");
    await server.api("POST", `/api/v1/alerts/${encodeURIComponent(id)}/resolve`);
    await ops.waitForSelector(`.alert[data-alert='${id}']`, { state: "detached", timeout: 10_000 });
  });

  it("has had no console errors", () => {
    assert.deepEqual(problems, []);
  });
});

let this_kpis = null;
async function kpis(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll("[data-kpi]")].map((k) => [k.dataset.kpi, k.querySelector(".kpi-value").textContent])));
}
