// Loads the city once and keeps it live: NGSI-LD queries for the zones' shapes, counters and
// car-park names, then the server's WebSocket streams (situation, entities, alerts, cases)
// into the city state. Reports the streams' connection state for the status light.
import { get, can, type Session } from "./api";
import { LiveStream, type LinkState } from "./live";
import { city, type Counter, type ZoneShape } from "./state";
import { setTimeZone } from "./i18n";

const PAGE = 1000;

// Every entity of a type, page by page (the server answers at most 1,000 per request).
async function allEntities(type: string, attrs?: string): Promise<any[]> {
  const out: any[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const q = new URLSearchParams({ type, options: "keyValues", limit: String(PAGE), offset: String(offset) });
    if (attrs) q.set("attrs", attrs);
    const page = await get<any[]>(`/ngsi-ld/v1/entities?${q}`);
    out.push(...page);
    if (page.length < PAGE) return out;
  }
}

function shapeOf(e: any): ZoneShape | null {
  const geometry = e.location;
  if (!geometry || !geometry.type) return null;
  return {
    id: e.id,
    name: e.name ?? null,
    geometry,
    parent: e.refParent ?? null,
    tierPlan: e.tierPlan ?? null,
    capacity: typeof e.capacity === "number" ? e.capacity : null,
  };
}
function counterOf(e: any, old?: Counter): Counter {
  const loc = e.location?.type === "Point" ? (e.location.coordinates as [number, number]) : old?.location ?? null;
  return {
    id: e.id,
    location: loc,
    peopleCount: typeof e.peopleCount === "number" ? e.peopleCount : old?.peopleCount ?? null,
    refZone: e.refZone ?? old?.refZone ?? null,
    observedAt: e.observedAt ?? old?.observedAt ?? null,
  };
}

export type StreamName = "situation" | "entities" | "alerts" | "cases";

export class CityFeeds {
  private streams: LiveStream[] = [];
  private states = new Map<StreamName, LinkState>();

  constructor(private session: Session, private onLink: (allOpen: boolean, states: Map<StreamName, LinkState>) => void) {}

  async load(): Promise<void> {
    const s = this.session;
    const jobs: Promise<void>[] = [];
    if (can(s, "context:read")) {
      jobs.push(
        allEntities("Zone").then((zones) => {
          for (const z of zones) {
            const shape = shapeOf(z);
            if (shape) city.shapes.set(shape.id, shape);
          }
          city.changed("shapes");
        }),
        allEntities("CrowdFlowObserved", "peopleCount,location,refZone").then((list) => {
          for (const e of list) city.counters.set(e.id, counterOf(e));
          city.changed("counters");
          city.changed("devices");
        }),
        allEntities("OffStreetParking", "name").then((list) => {
          for (const e of list) city.lotNames.set(e.id, e.name);
          city.changed("parking");
        }),
      );
    }
    if (can(s, "cases:report")) {
      jobs.push(
        get("/api/v1/case-catalog").then((c) => {
          city.catalog = c;
          if (c.timeZone) setTimeZone(c.timeZone);
          city.changed("catalog");
        }),
      );
    }
    await Promise.all(jobs);
  }

  start(): void {
    const s = this.session;
    if (can(s, "context:read")) {
      this.open("situation", "/ws/situation", (m) => this.onSituation(m));
      const q = new URLSearchParams({ type: "Zone,CrowdFlowObserved", options: "keyValues" });
      this.open("entities", `/ws/entities?${q}`, (m) => this.onEntities(m));
      this.open("alerts", "/ws/alerts", (m) => this.onAlerts(m));
    }
    if (can(s, "cases:read")) this.open("cases", "/ws/cases", (m) => this.onCases(m));
  }
  stop(): void {
    this.streams.forEach((x) => x.stop());
    this.streams = [];
  }

  private open(name: StreamName, path: string, f: (m: any) => void): void {
    const st = new LiveStream(path, f, (state) => {
      this.states.set(name, state);
      this.onLink([...this.states.values()].every((v) => v === "open"), this.states);
    });
    this.states.set(name, "connecting");
    this.streams.push(st);
    st.start();
  }

  private onSituation(m: any): void {
    if (m.type === "snapshot" || m.type === "situation") {
      if (m.zones) {
        city.zones.clear();
        for (const z of m.zones) city.zones.set(z.id, z);
        city.changed("zones");
      }
      if (m.parking) {
        city.lots.clear();
        for (const l of m.parking) city.lots.set(l.id, l);
        city.changed("parking");
      }
    }
    if ((m.type === "snapshot" || m.type === "devices") && m.devices) {
      if (m.type === "snapshot") city.devices.clear();
      for (const d of m.devices) city.devices.set(d.id, d);
      city.changed("devices");
    }
    if (m.type === "levelChange") city.emit("levelChange", m.change);
  }

  private onEntities(m: any): void {
    if (m.type !== "changes") return;
    let zones = false, counters = false;
    for (const c of m.changes) {
      const e = c.entity;
      if (!e?.id) continue;
      const isZone = e.type === "Zone" || (Array.isArray(e.type) && e.type.includes("Zone"));
      if (isZone) {
        if (c.change === "deleted") city.shapes.delete(e.id);
        else {
          // A change without the location keeps the shape already known.
          const shape = shapeOf({ ...e, location: e.location ?? city.shapes.get(e.id)?.geometry });
          if (shape) city.shapes.set(e.id, shape);
        }
        zones = true;
      } else {
        if (c.change === "deleted") city.counters.delete(e.id);
        else city.counters.set(e.id, counterOf(e, city.counters.get(e.id)));
        counters = true;
      }
    }
    if (zones) city.changed("shapes");
    if (counters) city.changed("counters");
  }

  private onAlerts(m: any): void {
    if (m.type === "snapshot") {
      city.alerts.clear();
      for (const a of m.alerts) city.alerts.set(a.id, a);
    } else if (m.type === "alert") {
      city.alerts.set(m.alert.id, m.alert);
    }
    city.changed("alerts");
  }

  private onCases(m: any): void {
    if (m.type === "snapshot") {
      city.cases.clear();
      for (const c of m.cases) city.cases.set(c.id, c);
    } else if (m.type === "case") {
      const old = city.cases.get(m.case.id);
      if (!old || old.version <= m.case.version) city.cases.set(m.case.id, m.case);
    }
    city.changed("cases");
  }
}
