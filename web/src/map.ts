// The map: MapLibre GL with a fully offline style (no tile or glyph servers). Base layers
// are GeoJSON shipped with the app (China's outline from world-atlas, the demo district's
// roads and water); live layers come from the city state. Text labels need glyph servers
// in MapLibre, so zone labels (which carry the tier name: colour is never the only signal)
// and cluster counts are HTML markers instead of symbol layers.
//
// Thousands of sensors and alerts are not drawn one by one when zoomed out: the sensors are
// pre-aggregated into grid cells (grid.ts) and the alerts clustered, so that what the map
// draws grows with the screen, not with the city.
import maplibregl, { type ExpressionSpecification, type GeoJSONSource, type LngLatBounds, type MapMouseEvent } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import type { Feature, FeatureCollection, Geometry, Point } from "geojson";
import { feature } from "topojson-client";
import { city, TIER_COLORS, ALERT_COLORS, type Selection } from "./state";
import { t, pick, onLocaleChange, fmtNumber, type Key } from "./i18n";
import { Grid, Lattice, cellSize } from "./grid";

export const LAYER_GROUPS = {
  base: ["water-fill", "water-line", "roads-line", "district-line"],
  zones: ["zones-fill", "zones-line"],
  heat: ["crowd-heat"],
  parking: ["parking-circle"],
  sensors: ["sensor-cells-silent", "sensor-cells", "sensors-circle"],
  alerts: ["alerts-halo", "alerts-cluster", "alerts-circle"],
  cases: ["cases-cluster", "cases-point"],
} as const;
export type LayerGroup = keyof typeof LAYER_GROUPS;
export const LAYER_LABELS: Record<LayerGroup, Key> = {
  base: "layerBase", zones: "layerZones", heat: "layerHeat", parking: "layerParking",
  sensors: "layerSensors", alerts: "layerAlerts", cases: "layerCases",
};

const empty = (): FeatureCollection => ({ type: "FeatureCollection", features: [] });
const point = (p: [number, number], properties: Record<string, unknown>): Feature =>
  ({ type: "Feature", geometry: { type: "Point", coordinates: p }, properties });
// Points from `items`: each item's position (null: left off the map) and the properties its
// layers style by.
function points<T>(items: Iterable<T>, place: (x: T) => [number, number] | null | undefined,
                   props: (x: T) => Record<string, unknown>): FeatureCollection {
  const features: Feature[] = [];
  for (const x of items) {
    const p = place(x);
    if (p) features.push(point(p, props(x)));
  }
  return { type: "FeatureCollection", features };
}

// Below this zoom (where a screen pixel covers more than about a metre, the district's
// whole view included) the sensors are drawn as cells of a grid about SENSOR_CELL_PX
// pixels wide; a cell holding a single sensor is drawn as that sensor. From it on, every
// sensor is drawn. The grids are fixed per quarter zoom level, so they change only when
// the zoom crosses one (and a cell grows by at most a fifth on screen meanwhile).
const SENSOR_GRID_BELOW = 16;
const SENSOR_CELL_PX = 32;
// The counters drawn are those within the view and this share of its width and height
// around it on each side.
const DRAWN_MARGIN = 0.5;
function paddedView(b: LngLatBounds, margin: number): [number, number, number, number] {
  const dx = (b.getEast() - b.getWest()) * margin, dy = (b.getNorth() - b.getSouth()) * margin;
  return [b.getWest() - dx, b.getSouth() - dy, b.getEast() + dx, b.getNorth() + dy];
}
const zoomBand = (z: number): number => Math.max(0, Math.floor(z * 4) / 4);
// The heat layer's lattice spacing, as a share of its radius: its kernel is a Gaussian of a
// third of the radius, whose sum over nodes this far apart is still smooth (to within a
// few per cent).
const HEAT_CELL = 0.6;
// The heat layer's radius (pixels) by zoom, and the count at which a counter weighs fully.
const HEAT_RADIUS: [number, number, number, number] = [12, 12, 16, 40];
const HEAT_FULL_COUNT = 5000;
function heatRadius(z: number): number {
  const [z0, r0, z1, r1] = HEAT_RADIUS;
  return r0 + (r1 - r0) * Math.min(1, Math.max(0, (z - z0) / (z1 - z0)));
}
// Cases and alerts are clustered alike (MapLibre's own clustering), their clusters sized alike.
const CLUSTERED = { cluster: true, clusterRadius: 40, clusterMaxZoom: 16 } as const;
const CLUSTER_RADIUS: ExpressionSpecification = ["step", ["get", "point_count"], 14, 10, 18, 100, 24];
const IS_CLUSTER: ExpressionSpecification = ["has", "point_count"];
// A "#rrggbb" colour at 60 % opacity.
const faded = (hex: string): string =>
  `rgba(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)}, 0.6)`;

// The centre of a polygon's outer ring (enough for labels and alert pins).
function centroid(g: Geometry): [number, number] | null {
  const ring =
    g.type === "Polygon" ? g.coordinates[0] : g.type === "MultiPolygon" ? g.coordinates[0][0] : g.type === "Point" ? [g.coordinates] : null;
  if (!ring || ring.length === 0) return null;
  let x = 0, y = 0;
  const n = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.length - 1 : ring.length;
  for (let i = 0; i < n; i++) {
    x += ring[i][0];
    y += ring[i][1];
  }
  return [x / n, y / n];
}
export function zoneCentre(zoneId: string): [number, number] | null {
  const s = city.shapes.get(zoneId);
  return s ? centroid(s.geometry) : null;
}
// Where an alert about one entity (a rule's firing, a silent device: its key names the
// entity) is: the counter's or car park's position.
function entityPlace(key: string | undefined): [number, number] | null {
  const id = key?.match(/urn:ngsi-ld:\S+/)?.[0];
  if (!id) return null;
  return city.counters.get(id)?.location ?? (city.lots.get(id)?.location?.coordinates as [number, number] | undefined) ?? null;
}
function tierLabel(level: number, hasPlan: boolean): string {
  if (!hasPlan) return "";
  return level === 0 ? t("tierNone") : t(`tier${level}` as Key);
}

export class CityMap {
  map: maplibregl.Map;
  private zoneMarkers = new Map<string, maplibregl.Marker>();
  private clusterMarkers: maplibregl.Marker[] = [];
  private visible: Record<LayerGroup, boolean>;
  private loaded = false;
  private pickHandler: ((lngLat: [number, number]) => void) | null = null;
  private pickMarker: maplibregl.Marker | null = null;

  constructor(container: HTMLElement) {
    const saved = JSON.parse(localStorage.getItem("cb.layers") ?? "null");
    this.visible = { base: true, zones: true, heat: true, parking: true, sensors: true, alerts: true, cases: true, ...(saved ?? {}) };
    this.map = new maplibregl.Map({
      container,
      style: { version: 8, sources: {}, layers: [{ id: "background", type: "background", paint: { "background-color": "#0d1b2a" } }] },
      center: [120.167, 30.258],
      zoom: 14.2,
      attributionControl: false,
      fadeDuration: 0,
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: t("mapAttribution") }));
    this.map.on("load", () => this.onLoad());
  }

  isVisible(g: LayerGroup): boolean {
    return this.visible[g];
  }
  setVisible(g: LayerGroup, on: boolean): void {
    this.visible[g] = on;
    localStorage.setItem("cb.layers", JSON.stringify(this.visible));
    if (!this.loaded) return;
    for (const id of LAYER_GROUPS[g]) this.map.setLayoutProperty(id, "visibility", on ? "visible" : "none");
    if (g === "zones") this.zoneMarkers.forEach((m) => (m.getElement().style.display = on ? "" : "none"));
    if (g === "cases" || g === "alerts") this.updateClusterMarkers();
  }

  // While set, a click on the map gives its position to `f` (the grid worker's report).
  pickLocation(f: ((lngLat: [number, number]) => void) | null): void {
    this.pickHandler = f;
    this.map.getCanvas().style.cursor = f ? "crosshair" : "";
    // Labels and markers let the tap through to the map while picking.
    this.map.getContainer().classList.toggle("picking", !!f);
  }
  showPicked(p: [number, number] | null): void {
    this.pickMarker?.remove();
    this.pickMarker = p ? new maplibregl.Marker({ color: "#e5383b" }).setLngLat(p).addTo(this.map) : null;
  }

  flyTo(p: [number, number], zoom = 15.5): void {
    this.map.flyTo({ center: p, zoom, duration: 600 });
  }

  private async onLoad(): Promise<void> {
    const m = this.map;
    const add = (id: string) => m.addSource(id, { type: "geojson", data: empty() });
    // Base: China's outline (world-atlas, Natural Earth 1:110m; country 156), then the district.
    const atlas: any = await import("world-atlas/countries-110m.json");
    const countries = feature(atlas.default ?? atlas, (atlas.default ?? atlas).objects.countries) as unknown as FeatureCollection;
    const china = countries.features.filter((f) => String(f.id) === "156");
    m.addSource("china", { type: "geojson", data: { type: "FeatureCollection", features: china } });
    m.addLayer({ id: "china-fill", type: "fill", source: "china", paint: { "fill-color": "#14263b" } });
    m.addLayer({ id: "china-line", type: "line", source: "china", paint: { "line-color": "#31577e", "line-width": 1 } });
    m.addSource("water", { type: "geojson", data: "/basemap/hubin-water.geojson" });
    m.addSource("roads", { type: "geojson", data: "/basemap/hubin-roads.geojson" });
    m.addSource("district", { type: "geojson", data: "/basemap/hubin-district.geojson" });
    m.addLayer({ id: "water-fill", type: "fill", source: "water", filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#123b5c" } });
    m.addLayer({ id: "water-line", type: "line", source: "water", filter: ["==", ["geometry-type"], "LineString"], paint: { "line-color": "#1f5f8b", "line-width": 3 } });
    m.addLayer({
      id: "roads-line", type: "line", source: "roads",
      paint: {
        "line-color": "#3b4f66",
        "line-width": ["match", ["get", "kind"], "primary", 5, "secondary", 3.5, 2],
      },
    });
    m.addLayer({ id: "district-line", type: "line", source: "district", paint: { "line-color": "#6c8cb0", "line-width": 1.5, "line-dasharray": [3, 2] } });

    for (const s of ["zones", "crowd", "sensor-cells", "counters", "parking"]) add(s);
    m.addSource("cases", { type: "geojson", data: empty(), ...CLUSTERED });
    // Alerts cluster only where many are close together (a few stay where they are, as
    // in the demo district); a cluster keeps the most severe level (1 is red) and whether
    // any is active.
    m.addSource("alerts", {
      type: "geojson", data: empty(), ...CLUSTERED, clusterMinPoints: 5,
      clusterProperties: {
        level: ["min", ["get", "level"]],
        active: ["max", ["case", ["==", ["get", "state"], "active"], 1, 0]],
      },
    });

    m.addLayer({
      id: "zones-fill", type: "fill", source: "zones",
      paint: { "fill-color": ["get", "color"], "fill-opacity": ["case", ["get", "leaf"], 0.35, 0.06] },
    });
    m.addLayer({
      id: "zones-line", type: "line", source: "zones",
      paint: { "line-color": ["get", "color"], "line-width": ["case", ["get", "leaf"], 2.5, 1.5], "line-dasharray": ["case", ["get", "leaf"], ["literal", [1, 0]], ["literal", [2, 2]]] },
    });
    m.addLayer({
      // Fed with grid cells finer than the radius (drawCounters), each weighing the sum
      // of its counters' weights: the same picture as one point per counter, but a few
      // hundred points to draw in the district's view instead of every counter.
      id: "crowd-heat", type: "heatmap", source: "crowd",
      paint: {
        "heatmap-weight": ["get", "weight"],
        "heatmap-intensity": 1.2,
        // Each point draws a disc of this radius into the heat texture: kept modest, as its
        // cost grows with the square of the radius times the number of points.
        "heatmap-radius": ["interpolate", ["linear"], ["zoom"], ...HEAT_RADIUS],
        "heatmap-opacity": 0.7,
      },
    });
    // Sensor cells: sized by their summed count, grey when all their sensors are silent,
    // with a grey ring (a larger disc beneath) when some are. The data-driven properties
    // of these layers and of the alerts' clusters are those of the car parks' layer, so
    // that they share its shader program: compiling another takes the software renderer
    // long enough to stall the map when such a layer is first drawn.
    const cellRadius: ExpressionSpecification = ["interpolate", ["linear"], ["sqrt", ["get", "count"]], 0, 6, 100, 15];
    const allSilent: ExpressionSpecification = ["==", ["get", "silent"], ["get", "n"]];
    m.addLayer({
      id: "sensor-cells-silent", type: "circle", source: "sensor-cells", filter: [">", ["get", "silent"], 0],
      paint: { "circle-radius": ["+", cellRadius, 3], "circle-color": ["case", allSilent, "#9a9a9a", "#c8c8c8"] },
    });
    m.addLayer({
      id: "sensor-cells", type: "circle", source: "sensor-cells",
      paint: {
        "circle-radius": cellRadius,
        "circle-color": ["case", allSilent, "#7a7a7a", "#4cc9f0"],
        "circle-opacity": 0.85,
        "circle-stroke-color": "#0d1b2a",
        "circle-stroke-width": 1,
      },
    });
    m.addLayer({
      id: "sensors-circle", type: "circle", source: "counters",
      paint: {
        "circle-radius": 4,
        "circle-color": ["case", ["get", "silent"], "#7a7a7a", "#4cc9f0"],
        "circle-stroke-color": "#0d1b2a",
        "circle-stroke-width": 1,
      },
    });
    m.addLayer({
      id: "parking-circle", type: "circle", source: "parking",
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["get", "total"], 0, 6, 1000, 18],
        "circle-color": ["case", ["!", ["get", "fresh"]], "#7a7a7a",
          ["interpolate", ["linear"], ["coalesce", ["get", "index"], 0], 0, "#2a9d8f", 0.8, "#f6c90e", 0.95, "#e5383b"]],
        "circle-opacity": 0.85,
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1.5,
      },
    });
    m.addLayer({
      id: "alerts-halo", type: "circle", source: "alerts", filter: ["!", IS_CLUSTER],
      paint: { "circle-radius": 18, "circle-color": ["get", "color"], "circle-opacity": ["case", ["==", ["get", "state"], "active"], 0.35, 0.15] },
    });
    m.addLayer({
      id: "alerts-cluster", type: "circle", source: "alerts", filter: IS_CLUSTER,
      paint: {
        "circle-radius": CLUSTER_RADIUS,
        "circle-color": ["case", [">", ["get", "active"], 0],
          ["match", ["get", "level"], 1, ALERT_COLORS.red, 2, ALERT_COLORS.orange, 3, ALERT_COLORS.yellow, ALERT_COLORS.blue],
          ["match", ["get", "level"], 1, faded(ALERT_COLORS.red), 2, faded(ALERT_COLORS.orange), 3, faded(ALERT_COLORS.yellow), faded(ALERT_COLORS.blue)]],
        "circle-opacity": 0.9,
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 2,
      },
    });
    m.addLayer({
      id: "alerts-circle", type: "circle", source: "alerts", filter: ["!", IS_CLUSTER],
      paint: { "circle-radius": 7, "circle-color": ["get", "color"], "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
    });
    m.addLayer({
      id: "cases-cluster", type: "circle", source: "cases", filter: IS_CLUSTER,
      paint: { "circle-radius": CLUSTER_RADIUS, "circle-color": "#9d4edd", "circle-opacity": 0.8 },
    });
    m.addLayer({
      id: "cases-point", type: "circle", source: "cases", filter: ["!", IS_CLUSTER],
      paint: {
        "circle-radius": 6,
        "circle-color": ["match", ["get", "sla"], "overdue", "#e5383b", "warning", "#f77f00", "#9d4edd"],
        "circle-stroke-color": "#fff",
        "circle-stroke-width": 1.5,
      },
    });
    this.loaded = true;
    for (const g of Object.keys(LAYER_GROUPS) as LayerGroup[]) this.setVisible(g, this.visible[g]);

    // What a click does, in order of precedence: clusters and sensor cells zoom in (by two
    // levels, to where they come apart), points open their details, the smallest zone last.
    const clickable: [string, Selection["kind"] | "zoomIn"][] = [
      ["cases-cluster", "zoomIn"], ["alerts-cluster", "zoomIn"], ["alerts-circle", "alert"], ["cases-point", "case"],
      ["parking-circle", "lot"], ["sensors-circle", "sensor"], ["sensor-cells", "zoomIn"], ["zones-fill", "zone"],
    ];
    const under = (e: MapMouseEvent) => {
      const layers = clickable.map(([l]) => l).filter((l) => m.getLayer(l) && m.getLayoutProperty(l, "visibility") !== "none");
      return m.queryRenderedFeatures(e.point, { layers });
    };
    m.on("click", (e: MapMouseEvent) => {
      if (this.pickHandler) {
        this.pickHandler([e.lngLat.lng, e.lngLat.lat]);
        return;
      }
      const hits = under(e);
      for (const [layer, kind] of clickable) {
        const hit = hits.filter((h) => h.layer.id === layer);
        if (hit.length === 0) continue;
        if (kind === "zoomIn") {
          m.easeTo({ center: (hit[0].geometry as Point).coordinates as [number, number], zoom: m.getZoom() + 2 });
          return;
        }
        const pickOne = kind === "zone" ? hit.sort((a, b) => (a.properties.area as number) - (b.properties.area as number))[0] : hit[0];
        city.select({ kind, id: String(pickOne.properties.id) });
        return;
      }
    });
    // The pointer over something clickable; over a sensor cell, what the cell holds. One
    // query per move, none while the map is dragged.
    const tip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: "cell-tip", offset: 14 });
    m.on("mousemove", (e: MapMouseEvent) => {
      if (e.originalEvent.buttons) return;
      const hits = under(e);
      m.getCanvas().style.cursor = this.pickHandler ? "crosshair" : hits.length ? "pointer" : "";
      const top = hits.find((h) => h.layer.id !== "zones-fill");
      if (top?.layer.id !== "sensor-cells" || this.pickHandler) {
        tip.remove();
        return;
      }
      const p = top.properties;
      tip.setLngLat((top.geometry as Point).coordinates as [number, number])
        .setText(t("sensorCell", { n: fmtNumber(p.n), silent: fmtNumber(p.silent), people: fmtNumber(p.count) }));
      if (!tip.isOpen()) tip.addTo(m);
    });
    m.on("mouseout", () => tip.remove());
    m.on("movestart", () => tip.remove());
    // When the map has moved, when new clusters have been drawn, and once it has settled.
    m.on("moveend", () => this.updateClusterMarkers());
    m.on("idle", () => this.updateClusterMarkers());
    m.on("sourcedata", (e) => {
      if ((e.sourceId === "cases" || e.sourceId === "alerts") && e.isSourceLoaded) m.once("render", () => this.updateClusterMarkers());
    });
    // The sensors' grids follow the zoom (by quarter levels).
    m.on("zoom", () => {
      if (zoomBand(m.getZoom()) !== this.countersBand) this.drawCountersSoon();
    });
    // ... and the view: past the area drawn, the counters there are drawn.
    m.on("move", () => {
      if (this.viewLeftCountersArea()) this.drawCountersSoon();
    });

    city.on("shapes", () => { this.drawZones(); this.fitDistrict(); });
    city.on("zones", () => this.drawZones());
    city.on("replay", () => this.drawZones());
    city.on("counters", () => { this.drawCountersSoon(); this.drawAlerts(); });
    city.on("devices", () => this.drawCountersSoon());
    city.on("parking", () => { this.drawParking(); this.drawAlerts(); });
    city.on("alerts", () => this.drawAlerts());
    city.on("cases", () => this.drawCases());
    onLocaleChange(() => this.drawZones());
    this.drawZones();
    this.fitDistrict();
    this.drawCounters();
    this.drawParking();
    this.drawAlerts();
    this.drawCases();
    document.body.dataset.mapReady = "1";
  }

  private fitted = false;
  private fitDistrict(): void {
    if (this.fitted || city.shapes.size === 0) return;
    let minX = 180, minY = 90, maxX = -180, maxY = -90;
    for (const s of city.shapes.values()) {
      const [x0, y0, x1, y1] = bbox(s.geometry);
      minX = Math.min(minX, x0); minY = Math.min(minY, y0);
      maxX = Math.max(maxX, x1); maxY = Math.max(maxY, y1);
    }
    this.fitted = true;
    this.map.fitBounds([[minX, minY], [maxX, maxY]], { padding: 40, duration: 0 });
  }

  private set(source: string, fc: FeatureCollection): void {
    (this.map.getSource(source) as GeoJSONSource | undefined)?.setData(fc);
  }

  private drawZones(): void {
    if (!this.loaded) return;
    const parents = new Set([...city.shapes.values()].map((s) => s.parent).filter(Boolean));
    const features: Feature[] = [];
    const seen = new Set<string>();
    for (const s of city.shapes.values()) {
      const level = city.levelOf(s.id);
      const leaf = !parents.has(s.id);
      const [x0, y0, x1, y1] = bbox(s.geometry);
      features.push({
        type: "Feature",
        id: undefined,
        geometry: s.geometry,
        properties: { id: s.id, level, leaf, color: TIER_COLORS[level] ?? TIER_COLORS[0], area: (x1 - x0) * (y1 - y0) },
      });
      // A label per planned or counted leaf zone: name, people and the tier's name.
      if (!leaf) continue;
      seen.add(s.id);
      const c = centroid(s.geometry);
      if (!c) continue;
      let marker = this.zoneMarkers.get(s.id);
      if (!marker) {
        const el = document.createElement("button");
        el.className = "zone-label";
        el.type = "button";
        el.addEventListener("click", (ev) => {
          ev.stopPropagation();
          city.select({ kind: "zone", id: s.id });
        });
        marker = new maplibregl.Marker({ element: el }).setLngLat(c).addTo(this.map);
        this.zoneMarkers.set(s.id, marker);
      }
      const el = marker.getElement();
      const hasPlan = !!(city.zones.get(s.id)?.tier || s.tierPlan);
      const count = city.countOf(s.id);
      el.dataset.zone = s.id;
      el.dataset.level = String(level);
      el.className = `zone-label tier-${level}`;
      el.style.display = this.visible.zones ? "" : "none";
      const tier = tierLabel(level, hasPlan);
      el.innerHTML = "";
      const name = document.createElement("span");
      name.className = "zone-name";
      name.textContent = pick(s.name) || s.id.split(":").pop()!;
      el.append(name);
      const fig = document.createElement("span");
      fig.className = "zone-figure";
      fig.textContent = count == null ? t("unknown") : fmtNumber(count);
      el.append(fig);
      if (tier) {
        const badge = document.createElement("span");
        badge.className = "tier-badge";
        badge.textContent = tier;
        el.append(badge);
      }
      el.setAttribute("aria-label", `${name.textContent} ${fig.textContent} ${tier}`);
    }
    for (const [id, marker] of this.zoneMarkers) {
      if (!seen.has(id)) {
        marker.remove();
        this.zoneMarkers.delete(id);
      }
    }
    this.set("zones", { type: "FeatureCollection", features });
  }

  // Sets a point source from `items` (see points()).
  private points<T>(source: string, items: Iterable<T>, place: (x: T) => [number, number] | null | undefined,
                    props: (x: T) => Record<string, unknown>): void {
    if (this.loaded) this.set(source, points(items, place, props));
  }

  // Readings stream in continuously; re-indexing thousands of points on every frame would
  // starve the map's own drawing, so the counters' source is rebuilt at most twice a
  // second (still well within the second the wallboard promises).
  private countersDue = 0;
  private countersTimer: number | undefined;
  private drawCountersSoon(): void {
    if (this.countersTimer !== undefined) return;
    const wait = Math.max(0, this.countersDue - performance.now());
    this.countersTimer = window.setTimeout(() => {
      this.countersTimer = undefined;
      this.countersDue = performance.now() + 500;
      this.drawCounters();
    }, wait);
  }

  // The people counters, spread (grid.ts) for the heat layer onto a lattice HEAT_CELL of
  // its radius apart (by their weights; finer than the heat's blur, so the picture is the
  // same) and binned, below SENSOR_GRID_BELOW, for the sensors layer into SENSOR_CELL_PX
  // cells (the summed count, how many sensors, how many silent). The sensors drawn one by one (grey
  // when the server finds a counter silent) are all of them from SENSOR_GRID_BELOW on, the
  // ones alone in their cell below it. Only the counters within the view and half a view
  // around it are drawn (countersArea): zoomed in to a street, the map holds a few hundred
  // of ten thousand, and a pan of up to half a view needs no redraw.
  private countersBand = -1;
  private countersArea: [number, number, number, number] | null = null;
  private drawCounters(): void {
    if (!this.loaded) return;
    const band = (this.countersBand = zoomBand(this.map.getZoom()));
    const [w, s, e, n] = (this.countersArea = paddedView(this.map.getBounds(), DRAWN_MARGIN));
    const heat = new Lattice(cellSize(band, heatRadius(band) * HEAT_CELL));
    const grid = band < SENSOR_GRID_BELOW ? new Grid(cellSize(band, SENSOR_CELL_PX)) : null;
    const sensors: Feature[] = [];
    let total = 0, drawn = 0;
    for (const c of city.counters.values()) {
      if (!c.location) continue;
      ++total;
      const [lon, lat] = c.location;
      if (lon < w || lon > e || lat < s || lat > n) continue;
      ++drawn;
      const count = c.peopleCount ?? 0, silent = city.devices.get(c.id)?.silent ?? false;
      heat.add(c.location, Math.min(count, HEAT_FULL_COUNT) / HEAT_FULL_COUNT);
      if (grid) grid.add(c.location, c.id, count, silent);
      else sensors.push(point(c.location, { id: c.id, count, silent }));
    }
    const cells: Feature[] = [];
    for (const c of grid?.cells() ?? []) {
      if (c.n === 1) sensors.push(point(c.centre, { id: c.id, count: c.count, silent: c.silent > 0 }));
      else cells.push(point(c.centre, { n: c.n, count: c.count, silent: c.silent }));
    }
    const spots: Feature[] = [];
    for (const { at, weight } of heat.weights()) spots.push(point(at, { weight }));
    this.set("crowd", { type: "FeatureCollection", features: spots });
    this.set("sensor-cells", { type: "FeatureCollection", features: cells });
    this.set("counters", { type: "FeatureCollection", features: sensors });
    // For the browser tests: how many counters are on the map, of how many with a place, and
    // the area drawn.
    const box = this.map.getContainer().dataset;
    box.counters = `${drawn}/${total}`;
    box.countersArea = [w, s, e, n].map((x) => x.toFixed(5)).join(",");
  }

  // Whether the view has left the area the counters were drawn for.
  private viewLeftCountersArea(): boolean {
    if (!this.countersArea) return false;
    const [w, s, e, n] = this.countersArea, b = this.map.getBounds();
    return b.getWest() < w || b.getEast() > e || b.getSouth() < s || b.getNorth() > n;
  }

  private drawParking(): void {
    this.points("parking", city.lots.values(), (l) => l.location?.coordinates,
      (l) => ({ id: l.id, total: l.total, index: l.index, fresh: l.fresh }));
  }

  // Redrawn whenever counters or car parks change (an alert may be placed at one), which
  // while readings stream is many times a second: the source (and its clusters) is set
  // again only when an open alert, its state or its place has changed.
  private alertsDrawn = "";
  private drawAlerts(): void {
    if (!this.loaded) return;
    const open = [...city.alerts.values()].filter((a) => a.state !== "resolved");
    const fc = points(open, (a) => (a.zone ? zoneCentre(a.zone) : entityPlace(a.key)),
      (a) => ({ id: a.id, color: ALERT_COLORS[a.color] ?? "#e5383b", state: a.state, level: a.level }));
    const drawn = JSON.stringify(fc);
    if (drawn === this.alertsDrawn) return;
    this.alertsDrawn = drawn;
    this.set("alerts", fc);
  }

  // Open cases, marked by their most urgent SLA clock.
  private drawCases(): void {
    const open = [...city.cases.values()].filter((c) => !["closed", "rejected", "merged"].includes(c.state));
    this.points("cases", open, (c) => c.location?.coordinates, (c) => ({
      id: c.id,
      sla: (c.sla ?? []).reduce((w: string, x: any) => (x.status === "overdue" || (x.status === "warning" && w !== "overdue") ? x.status : w), "ok"),
    }));
  }

  // Cluster counts (cases, alerts) as HTML markers (no glyph server for symbol text), on
  // the clusters drawn once the map has settled (not those of tiles of other zoom levels
  // the sources still hold), made again only when the clusters have changed.
  private clustersShown = "";
  private updateClusterMarkers(): void {
    if (!this.loaded) return;
    const counts: { source: string; at: [number, number]; n: number }[] = [];
    for (const source of ["cases", "alerts"] as const) {
      if (!this.visible[source]) continue;
      const seen = new Set<number>();
      for (const f of this.map.queryRenderedFeatures({ layers: [`${source}-cluster`] })) {
        const id = f.properties.cluster_id as number;
        if (seen.has(id)) continue;
        seen.add(id);
        counts.push({ source, at: (f.geometry as Point).coordinates as [number, number], n: f.properties.point_count as number });
      }
    }
    const shown = JSON.stringify(counts);
    if (shown === this.clustersShown) return;
    this.clustersShown = shown;
    this.clusterMarkers.forEach((m) => m.remove());
    this.clusterMarkers = counts.map(({ source, at, n }) => {
      const el = document.createElement("div");
      el.className = `cluster-count cluster-${source}`;
      el.textContent = fmtNumber(n);
      return new maplibregl.Marker({ element: el }).setLngLat(at).addTo(this.map);
    });
  }
}

function bbox(g: Geometry): [number, number, number, number] {
  let minX = 180, minY = 90, maxX = -180, maxY = -90;
  const walk = (c: any): void => {
    if (typeof c[0] === "number") {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk((g as any).coordinates);
  return [minX, minY, maxX, maxY];
}
