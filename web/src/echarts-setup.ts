// The parts of ECharts the wallboard draws, registered once. Loaded on demand by charts.ts
// (static imports here keep tree-shaking: only these parts are bundled).
import * as echarts from "echarts/core";
import { LineChart, BarChart } from "echarts/charts";
import { GridComponent, TooltipComponent, MarkLineComponent, LegendComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, MarkLineComponent, LegendComponent, CanvasRenderer]);
export default echarts;
