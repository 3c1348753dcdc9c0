// Pre-aggregation of many map points onto a fixed square grid in Web Mercator (the
// projection the map draws in), so that a cell is the same size on screen everywhere at a
// given zoom. The map draws one feature per cell instead of one per point when the points
// are too dense to tell apart: ten thousand sensors become a few hundred cells, which the
// GPU (or, without one, the CPU) draws at a fraction of the cost.

// The side of a square cell `px` screen pixels wide at `zoom`, in Mercator units (the
// world is 1 wide; MapLibre's world is 512 pixels wide at zoom 0).
export function cellSize(zoom: number, px: number): number {
  return px / (512 * 2 ** zoom);
}

function mercator([lon, lat]: [number, number]): [number, number] {
  const s = Math.sin((lat * Math.PI) / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}
function lonLat(x: number, y: number): [number, number] {
  return [x * 360 - 180, (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI];
}

// What a cell holds: how many points, how many of them are silent, their summed count and
// their mean position; when it holds one point, that point's id.
export interface Cell {
  n: number;
  silent: number;
  count: number;
  centre: [number, number];
  id: string;
}

// Points counted into the cell they fall in.
export class Grid {
  private cellsByKey = new Map<string, Cell>();
  constructor(private size: number) {}

  add(p: [number, number], id: string, count: number, silent: boolean): void {
    const [x, y] = mercator(p);
    const key = `${Math.floor(x / this.size)},${Math.floor(y / this.size)}`;
    const c = this.cellsByKey.get(key);
    if (!c) {
      this.cellsByKey.set(key, { n: 1, silent: silent ? 1 : 0, count, centre: [p[0], p[1]], id });
      return;
    }
    c.n++;
    if (silent) c.silent++;
    c.count += count;
    c.centre[0] += p[0];
    c.centre[1] += p[1];
  }

  *cells(): Iterable<Cell> {
    for (const c of this.cellsByKey.values()) yield { ...c, centre: [c.centre[0] / c.n, c.centre[1] / c.n] };
  }
}

// Weights spread onto the nodes of a square lattice, each point's shared bilinearly among
// the four nodes around it ("cloud in cell"). A smooth kernel (the heat layer's) drawn at
// the nodes then gives nearly the picture of the kernel drawn at every point: a uniform
// spread of points gives uniform nodes, where rounding each point into one cell would
// leave stripes wherever the points and the cells do not line up.
export class Lattice {
  private nodes = new Map<string, { i: number; j: number; weight: number }>();
  constructor(private size: number) {}

  add(p: [number, number], weight: number): void {
    if (!(weight > 0)) return;
    const [x, y] = mercator(p);
    const fx = x / this.size - 0.5, fy = y / this.size - 0.5;
    const i = Math.floor(fx), j = Math.floor(fy), tx = fx - i, ty = fy - j;
    this.put(i, j, weight * (1 - tx) * (1 - ty));
    this.put(i + 1, j, weight * tx * (1 - ty));
    this.put(i, j + 1, weight * (1 - tx) * ty);
    this.put(i + 1, j + 1, weight * tx * ty);
  }
  private put(i: number, j: number, weight: number): void {
    const key = `${i},${j}`;
    const n = this.nodes.get(key);
    if (n) n.weight += weight;
    else this.nodes.set(key, { i, j, weight });
  }

  *weights(): Iterable<{ at: [number, number]; weight: number }> {
    for (const { i, j, weight } of this.nodes.values()) {
      if (weight > 0) yield { at: lonLat((i + 0.5) * this.size, (j + 0.5) * this.size), weight };
    }
  }
}
