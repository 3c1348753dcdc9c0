// What the wallboard knows of the city, fed by the server's streams, and who is told when a
// part of it changes. One instance per page; everything runs on the browser's main thread.
import type { Geometry } from "geojson";

export interface ZoneShape {
  id: string;
  name: unknown;
  geometry: Geometry;
  parent: string | null;
  tierPlan: string | null;
  capacity: number | null;
}
export interface ZoneItem {
  id: string;
  name: unknown;
  parent: string | null;
  capacity: number | null;
  areaM2: number | null;
  crowd: {
    at: string | null;
    count: number | null;
    coverage: number | null;
    densityPerM2: number | null;
    capacityRatio: number | null;
    trendPerMin: number | null;
  } | null;
  tier: {
    plan: string;
    level: number;
    since: string | null;
    levelName: unknown;
    actions: unknown;
    departments: string[];
  } | null;
}
export interface LotItem {
  id: string;
  name?: unknown;
  location: { type: "Point"; coordinates: [number, number] } | null;
  total: number;
  occupied: number;
  available: number;
  index: number | null;
  status: string;
  at: string | null;
  fresh: boolean;
}
export interface DeviceItem {
  id: string;
  lastReading: string | null;
  intervalMs: number | null;
  silent: boolean;
}
export interface Counter {
  id: string;
  location: [number, number] | null;
  peopleCount: number | null;
  refZone: string | null;
  observedAt: string | null;
}
export type Alert = Record<string, any> & { id: string; level: number; state: string; zone?: string };
export type Case = Record<string, any> & { id: string; state: string; version: number };

export interface ReplayFrame {
  at: string;
  zones: { id: string; count: number | null; level: number }[];
}

type Topic =
  | "zones" | "shapes" | "parking" | "devices" | "counters" | "alerts" | "cases"
  | "replay" | "levelChange" | "select" | "catalog";

export interface Selection {
  kind: "zone" | "lot" | "sensor" | "alert" | "case";
  id: string;
}

class CityState {
  shapes = new Map<string, ZoneShape>();
  zones = new Map<string, ZoneItem>();
  lots = new Map<string, LotItem>();
  lotNames = new Map<string, unknown>();
  devices = new Map<string, DeviceItem>();
  counters = new Map<string, Counter>();
  alerts = new Map<string, Alert>();
  cases = new Map<string, Case>();
  catalog: any = null;
  replay: ReplayFrame | null = null;
  selection: Selection | null = null;
  private subs = new Map<Topic, Set<(arg?: any) => void>>();
  private pending = new Set<Topic>();
  private scheduled = false;

  on(topic: Topic, f: (arg?: any) => void): void {
    if (!this.subs.has(topic)) this.subs.set(topic, new Set());
    this.subs.get(topic)!.add(f);
  }
  // Tells the topic's listeners at once (for events that carry an argument).
  emit(topic: Topic, arg?: any): void {
    this.subs.get(topic)?.forEach((f) => f(arg));
  }
  // Tells the topic's listeners once, at the next animation frame: a burst of stream
  // messages redraws the map and panels once.
  changed(topic: Topic): void {
    this.pending.add(topic);
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      const topics = [...this.pending];
      this.pending.clear();
      topics.forEach((t) => this.emit(t));
    });
  }
  select(sel: Selection | null): void {
    this.selection = sel;
    this.emit("select", sel);
  }
  // The tier level of a zone now, or at the replayed moment.
  levelOf(zoneId: string): number {
    if (this.replay) return this.replay.zones.find((z) => z.id === zoneId)?.level ?? 0;
    return this.zones.get(zoneId)?.tier?.level ?? 0;
  }
  countOf(zoneId: string): number | null {
    if (this.replay) return this.replay.zones.find((z) => z.id === zoneId)?.count ?? null;
    return this.zones.get(zoneId)?.crowd?.count ?? null;
  }
}

export const city = new CityState();

// Tier levels: 1 is the most severe. Colours follow the Chinese four-colour warning scale.
export const TIER_COLORS: Record<number, string> = { 0: "#5b8def", 1: "#e5383b", 2: "#f77f00", 3: "#f6c90e" };
export const ALERT_COLORS: Record<string, string> = { red: "#e5383b", orange: "#f77f00", yellow: "#f6c90e", blue: "#3a86ff" };
