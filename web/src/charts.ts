// ECharts with only the parts the wallboard draws (line and bar charts), loaded on first
// use so the map and the panels appear before the charting code has even been fetched.
// Charts follow their container's size and are disposed when it leaves the page.
import type { ECharts } from "echarts/core";

export type EChartsOption = Record<string, unknown>;
export type Chart = ECharts;

let loading: Promise<typeof import("echarts/core")> | null = null;
function echarts() {
  loading ??= import("./echarts-setup").then((m) => m.default);
  return loading;
}

const live = new Set<ECharts>();
const resizer = new ResizeObserver(() => live.forEach((c) => c.resize()));
// One observer for every chart: drops the charts whose element left the page.
const sweeper = new MutationObserver(() => {
  for (const c of live) {
    if (c.getDom().isConnected) continue;
    live.delete(c);
    resizer.unobserve(c.getDom());
    c.dispose();
  }
  if (live.size === 0) sweeper.disconnect();
});

export async function chart(el: HTMLElement, option: EChartsOption): Promise<ECharts> {
  const core = await echarts();
  const c = core.init(el, "dark", { renderer: "canvas" });
  c.setOption({ backgroundColor: "transparent", textStyle: { fontFamily: "inherit" }, ...option });
  if (live.size === 0) sweeper.observe(document.body, { childList: true, subtree: true });
  live.add(c);
  resizer.observe(el);
  return c;
}
