// Parking guidance: the car parks with room near a destination (a point of interest such
// as the hospital, or a place), best first, and the combined figures within the radius.
import { city } from "../state";
import { h, clear, panel } from "../dom";
import { t, pick, fmtNumber, fmtPercent, onLocaleChange, type Key } from "../i18n";
import { get } from "../api";

export interface Place { poi?: string; lon?: number; lat?: number }

function query(p: Place): string {
  const q = new URLSearchParams();
  if (p.poi) q.set("poi", p.poi);
  else { q.set("lon", String(p.lon)); q.set("lat", String(p.lat)); }
  return q.toString();
}

export function guidancePanel(place: Place, label: string): HTMLElement {
  const list = h("ol", { class: "guidance-list" });
  const sum = h("p", { class: "guidance-total" });
  const box = h("div", { class: "guidance", dataset: { poi: place.poi ?? "" } }, h("h4", {}, t("guidanceFor", { p: label })), sum, list);
  const radius = 1000;
  Promise.all([
    get(`/api/v1/situation/parking/guidance?${query(place)}&limit=3&radius=${radius}`),
    get(`/api/v1/situation/parking/destination?${query(place)}&radius=${radius}`),
  ]).then(([g, d]) => {
    const lots: any[] = Array.isArray(g) ? g : g.lots ?? [];
    sum.textContent = t("destinationTotal", { r: fmtNumber(radius), a: fmtNumber(d.available), t: fmtNumber(d.total), i: fmtPercent(d.index) });
    clear(list, ...lots.map((l) =>
      h("li", { dataset: { lot: l.id } },
        h("button", { type: "button", class: "link", onclick: () => city.select({ kind: "lot", id: l.id }) },
          pick(city.lotNames.get(l.id)) || l.id.split(":").pop()),
        ` · ${t("spacesFree", { n: fmtNumber(l.available), t: fmtNumber(l.total) })} · ${t(`lotStatus_${l.status}` as Key)}`,
        l.distanceM != null ? ` · ${t("distance", { n: fmtNumber(l.distanceM) })}` : "",
      )));
    if (lots.length === 0) clear(list, h("li", { class: "empty" }, t("noData")));
  }).catch(() => clear(list, h("li", { class: "empty" }, t("noData"))));
  return box;
}

// The guidance panel of the wallboard: a choice of destinations (the points of interest).
export function parkingPanel(pois: { id: string; name: unknown }[]): HTMLElement {
  const body = h("div", { class: "parking-body" });
  const picker = h("div", { class: "row poi-buttons" });
  const root = panel("parking", "guidance", picker, body);
  const drawButtons = () => clear(picker, ...pois.map((p) =>
    h("button", { type: "button", dataset: { poi: p.id }, onclick: () => clear(body, guidancePanel({ poi: p.id }, pick(p.name))) }, pick(p.name) || p.id)));
  drawButtons();
  onLocaleChange(drawButtons);
  return root;
}
