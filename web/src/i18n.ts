// Every string the wallboard shows, in English and 中文, and the locale-aware formatting of
// numbers and times (always in the city's time zone, whatever the browser's is).
// `zh` is typed as `Strings`, so a key missing from either language fails the type check.

const en = {
  appTitle: "CityBrain · City at a glance",
  appShort: "CityBrain",
  signIn: "Sign in",
  signOut: "Sign out",
  userName: "User name",
  password: "Password",
  signInFailed: "Wrong user name or password",
  signInThrottled: "Too many attempts; try again in {s} s",
  signInHint: "Use the account the operations centre gave you.",
  language: "Language",
  connected: "Live",
  disconnected: "Disconnected: reconnecting…",
  connecting: "Connecting…",
  layers: "Layers",
  layerZones: "Zones by tier",
  layerHeat: "Crowd density",
  layerParking: "Parking",
  layerSensors: "Sensors",
  layerAlerts: "Alerts",
  layerCases: "Cases",
  layerBase: "Roads and water",
  tierNone: "Normal",
  tier1: "Level 1",
  tier2: "Level 2",
  tier3: "Level 3",
  tierNoPlan: "No plan",
  alerts: "Alerts",
  alertLevel1: "Level I (red)",
  alertLevel2: "Level II (orange)",
  alertLevel3: "Level III (yellow)",
  alertLevel4: "Level IV (blue)",
  raisedLabel: "Raised",
  lastReadingLabel: "Last reading",
  createdLabel: "Reported",
  noAlerts: "No open alerts",
  acknowledge: "Acknowledge",
  acknowledged: "Acknowledged",
  resolve: "Resolve",
  openPlan: "Plan and actions",
  ackBy: "Acknowledge by {t}",
  raisedAt: "Raised {t}",
  alertState_active: "Active",
  alertState_acknowledged: "Acknowledged",
  alertState_resolved: "Resolved",
  zone: "Zone",
  people: "People",
  capacity: "Capacity",
  density: "Density",
  perM2: "{n} /m²",
  coverage: "Coverage",
  trend: "Trend",
  perMin: "{n} /min",
  level: "Level",
  since: "Since {t}",
  actions: "Actions",
  departments: "Departments",
  timeAtLevelToday: "Time at each level today",
  countChart: "People in the zone",
  threshold: "Threshold",
  noData: "No data",
  parking: "Parking",
  parkingIndex: "Parking index",
  spacesFree: "{n} free of {t}",
  lotStatus_spacesAvailable: "Spaces available",
  lotStatus_almostFull: "Almost full",
  lotStatus_full: "Full",
  stale: "No recent report",
  guidance: "Parking guidance",
  guidanceFor: "Car parks near {p}",
  distance: "{n} m away",
  destinationTotal: "Within {r} m: {a} free of {t} (index {i})",
  sensor: "Sensor",
  silent: "Silent",
  sensorCell: "{n} sensors ({silent} silent): {people} people",
  reporting: "Reporting",
  history: "History",
  cases: "Cases",
  caseQueue: "Case queue",
  allStates: "All open",
  allDepartments: "All departments",
  noCases: "No cases",
  caseTimeline: "Timeline",
  category: "Category",
  description: "Description",
  address: "Address",
  department: "Department",
  handler: "Handler",
  result: "Result",
  rating: "Rating",
  comment: "Comment",
  note: "Note",
  photo: "Photo",
  reporter: "Reporter",
  sla: "SLA",
  sla_ok: "On time",
  sla_warning: "Due soon",
  sla_overdue: "Overdue",
  sla_paused: "Paused",
  remaining: "{d} left",
  overdueBy: "{d} over",
  submit: "Submit",
  cancel: "Cancel",
  close: "Close",
  state_reported: "Reported",
  state_accepted: "Accepted",
  state_rejected: "Rejected",
  state_dispatched: "Dispatched",
  state_in_progress: "In progress",
  state_suspended: "Suspended",
  state_resolved: "Resolved",
  state_verified: "Verified",
  state_rated: "Rated",
  state_closed: "Closed",
  state_merged: "Merged",
  action_accept: "Accept",
  action_reject: "Reject",
  action_dispatch: "Dispatch",
  action_assign: "Assign",
  action_start: "Start work",
  action_return: "Return",
  action_reassign: "Reassign",
  action_escalate: "Escalate",
  action_suspend: "Suspend",
  action_resume: "Resume",
  action_resolve: "Resolve",
  action_rework: "Rework",
  action_verify: "Verify",
  action_rate: "Rate",
  action_close: "Close",
  action_reopen: "Reopen",
  action_merge: "Merge",
  action_split: "Split",
  action_create: "Reported",
  action_photos: "Photos added",
  action_timer: "Clock",
  mergeInto: "Merge into case",
  kpis: "Key figures",
  kpiActiveAlerts: "Active alerts",
  kpiZonesPerLevel: "Zones per level",
  kpiParkingSaturation: "Parking saturation",
  kpiOnTime: "On-time rate",
  kpiSatisfaction: "Satisfaction",
  kpiOpenCases: "Open cases",
  kpiByDepartment: "By department",
  replay: "Replay",
  live: "Live",
  replayAt: "Replaying {t}",
  hoursAgo: "{n} h ago",
  workerView: "Grid worker",
  wallView: "Wallboard",
  report: "Report a problem",
  myCases: "My cases",
  useMyLocation: "Use my location",
  locationSet: "Location {lat}, {lon}",
  locationHint: "Tap the map to place the problem",
  reported: "Reported: case {id}",
  reportedLinked: "Already reported: linked to case {id}",
  required: "{f} is required",
  chooseCategory: "Choose a category",
  errorTitle: "Something went wrong",
  forbidden: "Your account may not do this",
  details: "Details",
  count: "{n}",
  hospital: "Hospital",
  loading: "Loading…",
  unknown: "—",
  mapAttribution: "Base map: schematic of the demo district; China outline © Natural Earth (world-atlas)",
};
export type Strings = typeof en;
export type Key = keyof Strings;

const zh: Strings = {
  appTitle: "城市大脑 · 一屏观城",
  appShort: "城市大脑",
  signIn: "登录",
  signOut: "退出",
  userName: "用户名",
  password: "密码",
  signInFailed: "用户名或密码错误",
  signInThrottled: "尝试次数过多，请 {s} 秒后再试",
  signInHint: "请使用运行中心分配的账号。",
  language: "语言",
  connected: "实时",
  disconnected: "连接中断，正在重连…",
  connecting: "正在连接…",
  layers: "图层",
  layerZones: "区域管控等级",
  layerHeat: "人群密度",
  layerParking: "停车场",
  layerSensors: "感知设备",
  layerAlerts: "告警",
  layerCases: "事件",
  layerBase: "道路与水系",
  tierNone: "正常",
  tier1: "一级",
  tier2: "二级",
  tier3: "三级",
  tierNoPlan: "无预案",
  alerts: "告警",
  alertLevel1: "Ⅰ级（红色）",
  alertLevel2: "Ⅱ级（橙色）",
  alertLevel3: "Ⅲ级（黄色）",
  alertLevel4: "Ⅳ级（蓝色）",
  raisedLabel: "发出时间",
  lastReadingLabel: "最近上报",
  createdLabel: "上报时间",
  noAlerts: "暂无未处理告警",
  acknowledge: "签收",
  acknowledged: "已签收",
  resolve: "解除",
  openPlan: "预案与措施",
  ackBy: "请于 {t} 前签收",
  raisedAt: "{t} 发出",
  alertState_active: "待签收",
  alertState_acknowledged: "已签收",
  alertState_resolved: "已解除",
  zone: "区域",
  people: "人数",
  capacity: "容量",
  density: "密度",
  perM2: "{n} 人/平方米",
  coverage: "覆盖率",
  trend: "趋势",
  perMin: "{n} 人/分钟",
  level: "等级",
  since: "自 {t}",
  actions: "处置措施",
  departments: "联动部门",
  timeAtLevelToday: "今日各等级时长",
  countChart: "区域人数",
  threshold: "阈值",
  noData: "暂无数据",
  parking: "停车",
  parkingIndex: "停车指数",
  spacesFree: "空余 {n} / 共 {t}",
  lotStatus_spacesAvailable: "有空位",
  lotStatus_almostFull: "即将满位",
  lotStatus_full: "已满",
  stale: "数据未更新",
  guidance: "停车诱导",
  guidanceFor: "{p} 附近停车场",
  distance: "距离 {n} 米",
  destinationTotal: "{r} 米内：空余 {a} / 共 {t}（指数 {i}）",
  sensor: "感知设备",
  silent: "离线",
  sensorCell: "{n} 个感知设备（{silent} 个离线）：{people} 人",
  reporting: "在线",
  history: "历史",
  cases: "事件",
  caseQueue: "事件队列",
  allStates: "全部未办结",
  allDepartments: "全部部门",
  noCases: "暂无事件",
  caseTimeline: "处置过程",
  category: "类别",
  description: "描述",
  address: "地址",
  department: "部门",
  handler: "处置人",
  result: "处置结果",
  rating: "评价",
  comment: "评语",
  note: "备注",
  photo: "照片",
  reporter: "上报人",
  sla: "时限",
  sla_ok: "正常",
  sla_warning: "即将超时",
  sla_overdue: "已超时",
  sla_paused: "已挂起",
  remaining: "剩余 {d}",
  overdueBy: "超时 {d}",
  submit: "提交",
  cancel: "取消",
  close: "关闭",
  state_reported: "已上报",
  state_accepted: "已受理",
  state_rejected: "不予受理",
  state_dispatched: "已派遣",
  state_in_progress: "处置中",
  state_suspended: "已挂起",
  state_resolved: "已处置",
  state_verified: "已核查",
  state_rated: "已评价",
  state_closed: "已结案",
  state_merged: "已合并",
  action_accept: "受理",
  action_reject: "不予受理",
  action_dispatch: "派遣",
  action_assign: "指派",
  action_start: "开始处置",
  action_return: "退回",
  action_reassign: "改派",
  action_escalate: "升级",
  action_suspend: "挂起",
  action_resume: "恢复",
  action_resolve: "处置完成",
  action_rework: "返工",
  action_verify: "核查",
  action_rate: "评价",
  action_close: "结案",
  action_reopen: "重新办理",
  action_merge: "合并",
  action_split: "拆分",
  action_create: "上报",
  action_photos: "补充照片",
  action_timer: "计时",
  mergeInto: "合并到事件",
  kpis: "关键指标",
  kpiActiveAlerts: "活动告警",
  kpiZonesPerLevel: "各等级区域数",
  kpiParkingSaturation: "停车饱和度",
  kpiOnTime: "按时办结率",
  kpiSatisfaction: "满意率",
  kpiOpenCases: "未办结事件",
  kpiByDepartment: "分部门",
  replay: "回放",
  live: "实时",
  replayAt: "回放 {t}",
  hoursAgo: "{n} 小时前",
  workerView: "网格员",
  wallView: "大屏",
  report: "上报问题",
  myCases: "我的上报",
  useMyLocation: "使用当前位置",
  locationSet: "位置 {lat}, {lon}",
  locationHint: "点击地图标出问题位置",
  reported: "已上报：事件 {id}",
  reportedLinked: "已有人上报：已关联到事件 {id}",
  required: "请填写{f}",
  chooseCategory: "请选择类别",
  errorTitle: "出错了",
  forbidden: "您的账号无权进行此操作",
  details: "详情",
  count: "{n}",
  hospital: "医院",
  loading: "加载中…",
  unknown: "—",
  mapAttribution: "底图：演示街区示意；中国轮廓 © Natural Earth（world-atlas）",
};

export type Locale = "zh-CN" | "en";
const dictionaries: Record<Locale, Strings> = { "zh-CN": zh, en };

let locale: Locale = (localStorage.getItem("cb.locale") as Locale) || "zh-CN";
let timeZone = "Asia/Shanghai";
const listeners = new Set<() => void>();

export function currentLocale(): Locale {
  return locale;
}
export function setLocale(l: Locale): void {
  if (l === locale) return;
  locale = l;
  localStorage.setItem("cb.locale", l);
  document.documentElement.lang = l;
  listeners.forEach((f) => f());
}
export function onLocaleChange(f: () => void): void {
  listeners.add(f);
}
export function setTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    timeZone = tz;
  } catch {
    /* an unknown zone keeps the default */
  }
}
export function cityTimeZone(): string {
  return timeZone;
}

// The string for `key` in the current language, with {name} placeholders filled.
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = dictionaries[locale][key] ?? en[key];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => (k in vars ? String(vars[k]) : `{${k}}`));
}
// A {"zh-CN": …, "en": …} text from the server in the current language.
export function pick(texts: unknown): string {
  if (texts == null) return "";
  if (typeof texts === "string") return texts;
  const m = texts as Record<string, string>;
  return m[locale] ?? m["zh-CN"] ?? m.en ?? Object.values(m)[0] ?? "";
}

export function fmtNumber(n: number | null | undefined, digits = 0): string {
  if (n == null || Number.isNaN(n)) return t("unknown");
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}
export function fmtPercent(r: number | null | undefined): string {
  if (r == null || Number.isNaN(r)) return t("unknown");
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(r);
}
export function fmtTime(iso: string | number | null | undefined, withDate = false): string {
  if (iso == null || iso === "") return t("unknown");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return t("unknown");
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: withDate ? undefined : "2-digit",
    month: withDate ? "2-digit" : undefined,
    day: withDate ? "2-digit" : undefined,
    hour12: false,
  }).format(d);
}
// A duration in seconds as "2 h 5 min" / "2小时5分".
export function fmtDuration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const unit = (v: number, u: "hour" | "minute" | "second") =>
    new Intl.NumberFormat(locale, { style: "unit", unit: u, unitDisplay: "narrow" }).format(v);
  if (h > 0) return `${unit(h, "hour")} ${unit(m, "minute")}`;
  if (m > 0) return unit(m, "minute");
  return unit(s % 60, "second");
}
// The local day (YYYY-MM-DD) of `at` in the city's time zone.
export function cityDay(at: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(at);
  return parts;
}
// Applies the current language to every element carrying data-i18n (text) or
// data-i18n-title / data-i18n-placeholder / data-i18n-aria (attributes).
export function translateDom(root: ParentNode = document): void {
  root.querySelectorAll<HTMLElement>("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n as Key);
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-title]").forEach((el) => {
    el.title = t(el.dataset.i18nTitle as Key);
  });
  root.querySelectorAll<HTMLInputElement>("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder as Key);
  });
  root.querySelectorAll<HTMLElement>("[data-i18n-aria]").forEach((el) => {
    el.setAttribute("aria-label", t(el.dataset.i18nAria as Key));
  });
}
export function isKey(k: string): k is Key {
  return k in en;
}
