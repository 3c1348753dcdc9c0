// The detail panel: whatever the operator clicked (zone, car park, sensor, alert, case),
// with its figures and history. Zones show the count chart with the plan's thresholds and
// the time spent at each level today; car parks the guidance around them.
import { city, TIER_COLORS } from "../state";
import { h, clear, panel, button } from "../dom";
import { t, pick, fmtNumber, fmtPercent, fmtTime, fmtDuration, cityDay, onLocaleChange, type Key } from "../i18n";
import { get, type Session } from "../api";
import { chart } from "../charts";
import { alertLevelText, acknowledge, zoneName } from "./alerts";
import { caseDetail } from "./cases";
import { guidancePanel } from "./parking";
import { can } from "../api";

const tierName = (level: number) => (level === 0 ? t("tierNone") : t(`tier${level}` as Key));

export function detailPanel(session: Session): HTMLElement {
  const body = h("div", { class: "detail-body" });
  const closeBtn = button("close", () => city.select(null), { class: "detail-close" });
  const root = panel("detail", "details", closeBtn, body);
  root.hidden = true;
  let token = 0;

  const draw = async () => {
    const sel = city.selection;
    const mine = ++token;
    root.hidden = !sel;
    if (!sel) return;
    root.dataset.kind = sel.kind;
    root.dataset.id = sel.id;
    let content: HTMLElement;
    switch (sel.kind) {
      case "zone": content = zoneDetail(sel.id); break;
      case "lot": content = lotDetail(sel.id); break;
      case "sensor": content = sensorDetail(sel.id); break;
      case "alert": content = alertDetail(sel.id, session); break;
      case "case": content = await caseDetail(sel.id, session); break;
    }
    if (mine !== token) return;
    clear(body, content);
    root.scrollIntoView({ block: "nearest" });
  };
  city.on("select", draw);
  onLocaleChange(() => city.selection && draw());
  // Live figures: redraw the summary of zones and lots when they change (not the charts).
  city.on("zones", () => city.selection?.kind === "zone" && refreshSummary(body));
  city.on("parking", () => city.selection?.kind === "lot" && refreshSummary(body));
  city.on("alerts", () => city.selection?.kind === "alert" && draw());
  return root;
}

function refreshSummary(body: HTMLElement): void {
  const old = body.querySelector(".summary");
  const sel = city.selection;
  if (!old || !sel) return;
  const fresh = sel.kind === "zone" ? zoneSummary(sel.id) : lotSummary(sel.id);
  old.replaceWith(fresh);
}

function dl(...rows: [string, string | Node][]): HTMLElement {
  return h("dl", { class: "summary" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function zoneSummary(id: string): HTMLElement {
  const z = city.zones.get(id);
  const c = z?.crowd;
  const level = z?.tier?.level ?? 0;
  return dl(
    [t("people"), c?.count == null ? t("unknown") : fmtNumber(c.count)],
    [t("capacity"), z?.capacity == null ? t("unknown") : `${fmtNumber(z.capacity)} (${fmtPercent(c?.capacityRatio)})`],
    [t("density"), t("perM2", { n: fmtNumber(c?.densityPerM2, 2) })],
    [t("trend"), t("perMin", { n: fmtNumber(c?.trendPerMin, 0) })],
    [t("coverage"), fmtPercent(c?.coverage)],
    [t("level"), z?.tier ? h("span", { class: `tier-badge tier-${level}`, dataset: { level: String(level) } }, `${tierName(level)} · ${pick(z.tier.levelName) || ""} · ${t("since", { t: fmtTime(z.tier.since) })}`) : t("tierNoPlan")],
  );
}

function zoneDetail(id: string): HTMLElement {
  const z = city.zones.get(id);
  const plan = z?.tier?.plan;
  const countEl = h("div", { class: "chart chart-count", role: "img", "aria-label": t("countChart") });
  const levelEl = h("div", { class: "chart chart-levels", role: "img", "aria-label": t("timeAtLevelToday") });
  const box = h("div", { class: "zone-detail", dataset: { zone: id } },
    h("h3", {}, zoneName(id)),
    zoneSummary(id),
    z?.tier ? h("div", { class: "plan-actions" },
      h("h4", {}, t("actions")), h("p", {}, pick(z.tier.actions) || t("unknown")),
      h("h4", {}, t("departments")), h("p", {}, (z.tier.departments ?? []).join("、") || t("unknown"))) : null,
    h("h4", {}, t("countChart")), countEl,
    plan ? h("h4", {}, t("timeAtLevelToday")) : null, plan ? levelEl : null,
  );
  // Count history with the plan's thresholds.
  Promise.all([
    get(`/api/v1/situation/zones/${encodeURIComponent(id)}/history?maxPoints=500`),
    plan ? get("/api/v1/situation/tier-plans") : Promise.resolve(null),
  ]).then(([hist, plans]) => {
    const p = (Array.isArray(plans) ? plans : plans?.plans ?? []).find((x: any) => x.id === plan);
    const marks = (p?.levels ?? []).map((l: any) => ({ yAxis: l.threshold, name: tierName(l.level), lineStyle: { color: TIER_COLORS[l.level] } }));
    chart(countEl, {
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 50, top: 10, bottom: 4, containLabel: true },
      xAxis: { type: "time", axisLabel: { formatter: (v: number) => fmtTime(v).slice(0, 5) } },
      yAxis: { type: "value" },
      series: [{
        name: t("people"), type: "line", showSymbol: false, step: false,
        data: (hist.points ?? []).map((q: any) => [q.at, q.count]),
        markLine: { symbol: "none", label: { formatter: "{b}" }, data: marks },
      }],
    });
  }).catch(() => clear(countEl, t("noData")));
  if (plan) {
    const day = cityDay();
    get(`/api/v1/situation/zones/${encodeURIComponent(id)}/level-days?level=3&from=${day}&to=${day}`).then((r) => {
      const ms: Record<string, number> = r.perDay?.[0]?.msAtLevel ?? {};
      const levels = [0, 3, 2, 1].filter((l) => ms[String(l)] != null);
      chart(levelEl, {
        tooltip: { trigger: "item", formatter: (q: any) => `${q.name}: ${fmtDuration(q.value / 1000)}` },
        grid: { left: 8, right: 8, top: 4, bottom: 4, containLabel: true },
        xAxis: { type: "value", axisLabel: { formatter: (v: number) => fmtDuration(v / 1000) } },
        yAxis: { type: "category", data: levels.map(tierName) },
        series: [{ type: "bar", data: levels.map((l) => ({ value: ms[String(l)], itemStyle: { color: TIER_COLORS[l] } })), label: { show: true, position: "insideLeft", formatter: (q: any) => fmtDuration(q.value / 1000) } }],
      });
    }).catch(() => clear(levelEl, t("noData")));
  }
  return box;
}

function lotSummary(id: string): HTMLElement {
  const l = city.lots.get(id);
  if (!l) return dl([t("parking"), t("unknown")]);
  return dl(
    [t("parkingIndex"), `${fmtPercent(l.index)} · ${t(`lotStatus_${l.status}` as Key)}`],
    [t("parking"), t("spacesFree", { n: fmtNumber(l.available), t: fmtNumber(l.total) })],
    [t("lastReadingLabel"), l.fresh ? fmtTime(l.at) : `${fmtTime(l.at)} (${t("stale")})`],
  );
}

function lotDetail(id: string): HTMLElement {
  const l = city.lots.get(id);
  return h("div", { class: "lot-detail", dataset: { lot: id } },
    h("h3", {}, pick(city.lotNames.get(id)) || id.split(":").pop()!),
    lotSummary(id),
    h("h4", {}, t("history")), historyChart(id, "availableSpotNumber"),
    l?.location ? guidancePanel({ lon: l.location.coordinates[0], lat: l.location.coordinates[1] }, pick(city.lotNames.get(id))) : null,
  );
}

// A chart of one attribute's recent values (the temporal API), for sensors and car parks.
function historyChart(entityId: string, attr: string): HTMLElement {
  const el = h("div", { class: "chart chart-history", role: "img", "aria-label": t("history") });
  const q = new URLSearchParams({ attrs: attr, lastN: "200", options: "temporalValues" });
  get(`/ngsi-ld/v1/temporal/entities/${encodeURIComponent(entityId)}?${q}`).then((r) => {
    const values: [number, string][] = r[attr]?.values ?? [];
    if (values.length === 0) return clear(el, t("noData"));
    chart(el, {
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 8, top: 10, bottom: 4, containLabel: true },
      xAxis: { type: "time", axisLabel: { formatter: (v: number) => fmtTime(v).slice(0, 5) } },
      yAxis: { type: "value" },
      series: [{ type: "line", showSymbol: false, data: values.map(([v, at]) => [at, v]) }],
    });
  }).catch(() => clear(el, t("noData")));
  return el;
}

function sensorDetail(id: string): HTMLElement {
  const c = city.counters.get(id);
  const d = city.devices.get(id);
  return h("div", { class: "sensor-detail", dataset: { sensor: id } },
    h("h3", {}, `${t("sensor")} ${id.split(":").pop()}`),
    dl(
      [t("people"), c?.peopleCount == null ? t("unknown") : fmtNumber(c.peopleCount)],
      [t("zone"), zoneName(c?.refZone) || t("unknown")],
      [t("sensor"), d?.silent ? t("silent") : t("reporting")],
      [t("lastReadingLabel"), fmtTime(d?.lastReading ?? null)],
    ),
    h("h4", {}, t("history")), historyChart(id, "peopleCount"),
  );
}

function alertDetail(id: string, session: Session): HTMLElement {
  const a = city.alerts.get(id);
  if (!a) return h("p", {}, t("unknown"));
  return h("div", { class: "alert-detail", dataset: { alert: id } },
    h("h3", {}, `${alertLevelText(a.level)} ${pick(a.headline)}`),
    h("p", {}, pick(a.description)),
    a.instruction ? h("p", { class: "instruction" }, pick(a.instruction)) : null,
    dl(
      [t("zone"), zoneName(a.zone) || t("unknown")],
      [t("departments"), (a.departments ?? []).join("、") || t("unknown")],
      [t("raisedLabel"), fmtTime(a.raisedAt, true)],
      [t("level"), t(`alertState_${a.state}` as Key)],
      ...(a.ackDeadline && a.state === "active" ? [[t("acknowledge"), t("ackBy", { t: fmtTime(a.ackDeadline) })] as [string, string]] : []),
    ),
    h("div", { class: "row" },
      can(session, "context:write") && a.state === "active" ? h("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a) }, t("acknowledge")) : null,
      a.zone ? h("button", { type: "button", onclick: () => city.select({ kind: "zone", id: a.zone! }) }, t("openPlan")) : null,
    ),
    h("h4", {}, t("history")),
    h("ol", { class: "timeline" }, ...(a.history ?? []).map((x: any) => h("li", {}, `${fmtTime(x.at)} ${x.what}`))),
  );
}
