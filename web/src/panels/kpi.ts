// Key figures: active alerts by level, zones per tier level, parking saturation, open
// cases, and the on-time rate and satisfaction by department (from /api/v1/case-stats,
// refreshed when cases change and every 30 s).
import { city } from "../state";
import { h, clear, panel } from "../dom";
import { t, pick, fmtNumber, fmtPercent, onLocaleChange, type Key } from "../i18n";
import { get, can, type Session } from "../api";
import { chart, type Chart } from "../charts";
import { alertLevelText } from "./alerts";

export function kpiPanel(session: Session): HTMLElement {
  const tiles = h("div", { class: "kpi-tiles" });
  const deptBox = h("div", { class: "kpi-dept" });
  const root = panel("kpis", "kpis", tiles, deptBox);
  let stats: any = null;

  const tile = (id: string, label: Key, value: string, extra?: Node | null) =>
    h("div", { class: "kpi", dataset: { kpi: id } }, h("div", { class: "kpi-label" }, t(label)), h("div", { class: "kpi-value" }, value), extra ?? null);

  const draw = () => {
    const alerts = [...city.alerts.values()].filter((a) => a.state !== "resolved");
    const byLevel = [1, 2, 3, 4].map((l) => alerts.filter((a) => a.level === l).length);
    const zones = [...city.zones.values()].filter((z) => z.tier);
    const perLevel = [1, 2, 3, 0].map((l) => zones.filter((z) => (z.tier?.level ?? 0) === l).length);
    let total = 0, occupied = 0;
    for (const l of city.lots.values()) if (l.fresh) { total += l.total; occupied += l.occupied; }
    const open = [...city.cases.values()].filter((c) => !["closed", "rejected", "merged"].includes(c.state)).length;
    const levelList = (values: number[], names: string[]) =>
      h("ul", { class: "kpi-breakdown" }, ...values.map((v, i) => h("li", {}, `${names[i]}: ${fmtNumber(v)}`)));
    clear(tiles,
      tile("active-alerts", "kpiActiveAlerts", fmtNumber(alerts.length), levelList(byLevel, [1, 2, 3, 4].map(alertLevelText))),
      tile("zones-per-level", "kpiZonesPerLevel", fmtNumber(zones.length), levelList(perLevel, [t("tier1"), t("tier2"), t("tier3"), t("tierNone")])),
      tile("parking-saturation", "kpiParkingSaturation", total > 0 ? fmtPercent(occupied / total) : t("unknown")),
      can(session, "cases:read") ? tile("open-cases", "kpiOpenCases", fmtNumber(open)) : null,
      stats ? tile("on-time", "kpiOnTime", fmtPercent(stats.total?.onTimeRate?.close?.rate ?? stats.total?.onTimeRate?.handle?.rate)) : null,
      stats ? tile("satisfaction", "kpiSatisfaction", fmtPercent(stats.total?.satisfaction)) : null,
    );
    drawDepartments();
  };

  let deptChart: Chart | null = null;
  let making = false;
  const drawDepartments = () => {
    if (!stats?.groups?.length) {
      clear(deptBox);
      deptChart = null;
      return;
    }
    const deps = new Map<string, unknown>((city.catalog?.departments ?? []).map((d: any) => [d.id, d.name]));
    const groups = stats.groups.filter((g: any) => g.key);
    const names = groups.map((g: any) => pick(deps.get(g.key)) || g.key);
    const rate = (g: any) => g.onTimeRate?.close?.rate ?? g.onTimeRate?.handle?.rate ?? null;
    const option = {
      tooltip: { trigger: "axis", valueFormatter: (v: number) => fmtPercent(v) },
      legend: { data: [t("kpiOnTime"), t("kpiSatisfaction")], top: 0 },
      grid: { left: 8, right: 8, top: 28, bottom: 4, containLabel: true },
      xAxis: { type: "value", max: 1, axisLabel: { formatter: (v: number) => fmtPercent(v) } },
      yAxis: { type: "category", data: names },
      series: [
        { name: t("kpiOnTime"), type: "bar", data: groups.map(rate) },
        { name: t("kpiSatisfaction"), type: "bar", data: groups.map((g: any) => g.satisfaction ?? null) },
      ],
    };
    if (deptChart && deptChart.getDom().isConnected) {
      deptChart.setOption(option, { notMerge: true });
      return;
    }
    if (making) return;
    making = true;
    const el = h("div", { class: "chart chart-dept", role: "img", "aria-label": t("kpiByDepartment") });
    clear(deptBox, h("h3", {}, t("kpiByDepartment")), el);
    chart(el, option).then((c) => { deptChart = c; making = false; drawDepartments(); });
  };

  let pending: number | undefined;
  const refresh = async () => {
    if (!can(session, "cases:read")) return;
    try {
      stats = await get("/api/v1/case-stats?groupBy=department");
      draw();
    } catch {
      /* shown again at the next refresh */
    }
  };
  const soon = () => {
    clearTimeout(pending);
    pending = window.setTimeout(refresh, 1000);
  };
  city.on("alerts", draw);
  city.on("zones", draw);
  city.on("parking", draw);
  city.on("cases", () => { draw(); soon(); });
  city.on("catalog", draw);
  onLocaleChange(() => { deptChart = null; draw(); });
  setInterval(refresh, 30_000);
  refresh();
  draw();
  return root;
}
