// Cases: the queue by status and department with SLA clocks that turn amber (due soon) and
// red (overdue), a case's timeline, and the workflow actions the server allows now and the
// session may take (dispatch, accept, resolve with a photo, verify, rate, …).
import { city, type Case } from "../state";
import { h, clear, panel, toast } from "../dom";
import { t, pick, fmtTime, fmtDuration, onLocaleChange, type Key } from "../i18n";
import { get, post, can, currentToken, ApiError, type Session } from "../api";
import { zoneName } from "./alerts";

const OPEN = ["reported", "accepted", "dispatched", "in_progress", "suspended", "resolved", "verified", "rated"];

export function categoryName(code: string): string {
  const c = (city.catalog?.categories ?? []).find((x: any) => x.code === code);
  return c ? pick(c.name) : code;
}
export function departmentName(code: string | null | undefined): string {
  if (!code) return t("unknown");
  const d = (city.catalog?.departments ?? []).find((x: any) => x.id === code);
  return d ? pick(d.name) : code;
}
const caseNumber = (c: Case) => String(c.id).split(":").pop()!;

// The running clock of a case and how it stands now: ok, warning (amber), overdue (red),
// paused (suspended); remaining seconds until its deadline (negative when overdue).
export function slaNow(c: Case, now = Date.now()): { status: string; remaining: number; step: string } | null {
  const running = (c.clocks ?? []).filter((k: any) => !k.doneAt && k.deadline);
  const k = running[running.length - 1];
  if (!k) return null;
  const deadline = Date.parse(k.deadline);
  const remaining = (deadline - now) / 1000;
  let status = "ok";
  if (c.state === "suspended") status = "paused";
  else if (remaining < 0) status = "overdue";
  else if (k.warnAt && now >= Date.parse(k.warnAt)) status = "warning";
  return { status, remaining, step: k.step };
}
export function slaBadge(c: Case): HTMLElement | null {
  const s = slaNow(c);
  if (!s) return null;
  const text = s.status === "paused" ? t("sla_paused")
    : s.remaining < 0 ? `${t("sla_overdue")} · ${t("overdueBy", { d: fmtDuration(-s.remaining) })}`
    : `${t(`sla_${s.status}` as Key)} · ${t("remaining", { d: fmtDuration(s.remaining) })}`;
  return h("span", { class: `sla sla-${s.status}`, dataset: { sla: s.status } }, text);
}

export function casesPanel(): HTMLElement {
  const stateSel = h("select", { "aria-label": t("caseQueue") });
  const deptSel = h("select", { "aria-label": t("department") });
  const list = h("ol", { class: "case-list" });
  const counts = h("div", { class: "case-counts" });
  const root = panel("cases", "caseQueue", h("div", { class: "row filters" }, stateSel, deptSel), counts, list);
  const fillFilters = () => {
    const st = stateSel.value, dp = deptSel.value;
    clear(stateSel, h("option", { value: "" }, t("allStates")), ...OPEN.map((s) => h("option", { value: s }, t(`state_${s}` as Key))));
    clear(deptSel, h("option", { value: "" }, t("allDepartments")),
      ...(city.catalog?.departments ?? []).map((d: any) => h("option", { value: d.id }, pick(d.name))));
    stateSel.value = st;
    deptSel.value = dp;
  };
  const draw = () => {
    const open = [...city.cases.values()].filter((c) => OPEN.includes(c.state));
    const shown = open
      .filter((c) => !stateSel.value || c.state === stateSel.value)
      .filter((c) => !deptSel.value || c.department === deptSel.value)
      .sort((a, b) => (slaNow(a)?.remaining ?? Infinity) - (slaNow(b)?.remaining ?? Infinity));
    clear(counts, ...OPEN.map((s) => {
      const n = open.filter((c) => c.state === s).length;
      return n ? h("span", { class: `count state-${s}` }, `${t(`state_${s}` as Key)} ${n}`) : null;
    }));
    if (shown.length === 0) return clear(list, h("li", { class: "empty" }, t("noCases")));
    clear(list, ...shown.slice(0, 300).map((c) =>
      h("li", { dataset: { case: caseNumber(c), state: c.state } },
        h("button", { type: "button", class: "case-open", onclick: () => city.select({ kind: "case", id: caseNumber(c) }) },
          h("span", { class: "case-id" }, `#${caseNumber(c)}`),
          h("span", { class: "case-title", "data-text": c.title ? "" : null }, c.title || categoryName(c.category)),
          h("span", { class: `case-state state-${c.state}` }, t(`state_${c.state}` as Key)),
          h("span", { class: "case-dept" }, departmentName(c.department)),
          slaBadge(c)))));
  };
  stateSel.addEventListener("change", draw);
  deptSel.addEventListener("change", draw);
  city.on("cases", draw);
  city.on("catalog", () => { fillFilters(); draw(); });
  onLocaleChange(() => { fillFilters(); draw(); });
  fillFilters();
  draw();
  // SLA clocks move with time.
  setInterval(draw, 15_000);
  return root;
}

// A photo needs the session token, so it is fetched and shown from a blob URL.
export function photo(id: string): HTMLElement {
  const img = h("img", { class: "photo", alt: t("photo"), loading: "lazy" });
  fetch(`/api/v1/photos/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${currentToken() ?? ""}` } })
    .then((r) => (r.ok ? r.blob() : null))
    .then((b) => { if (b) img.src = URL.createObjectURL(b); });
  return img;
}

export async function uploadPhoto(file: File): Promise<string> {
  const r = await post<{ id: string }>("/api/v1/photos", file);
  return r.id;
}

// Which actions this session may take (the server decides which are allowed now).
function permitted(session: Session, action: string): boolean {
  if (action === "verify" || action === "rate") return can(session, "cases:report");
  return can(session, "cases:write");
}

export async function caseDetail(id: string, session: Session): Promise<HTMLElement> {
  let c: Case;
  try {
    c = await get(`/api/v1/cases/${encodeURIComponent(id)}`);
  } catch (e) {
    return h("p", { class: "error" }, e instanceof Error ? e.message : String(e));
  }
  const actions = h("div", { class: "case-actions" });
  const form = h("div", { class: "case-form" });
  const root = h("div", { class: "case-detail", dataset: { case: id, state: c.state, version: String(c.version) } },
    h("h3", {}, `#${id} `, h("span", { "data-text": c.title ? "" : null }, c.title || categoryName(c.category))),
    h("p", {}, h("span", { class: `case-state state-${c.state}` }, t(`state_${c.state}` as Key)), " ", slaBadge(c)),
    h("dl", { class: "summary" },
      ...([
        [t("category"), categoryName(c.category)],
        [t("description"), c.description || t("unknown")],
        [t("address"), c.address || (c.location ? c.location.coordinates.map((x: number) => x.toFixed(5)).join(", ") : t("unknown"))],
        [t("zone"), zoneName(c.zone) || t("unknown")],
        [t("department"), departmentName(c.department)],
        [t("handler"), c.handler || t("unknown")],
        [t("reporter"), c.reporter?.name || c.reporter?.id || t("unknown")],
        [t("createdLabel"), fmtTime(c.createdAt, true)],
        ...(c.result ? [[t("result"), c.result]] : []),
        ...(c.rating ? [[t("rating"), `${"★".repeat(c.rating)}${"☆".repeat(5 - c.rating)} ${c.ratingComment ?? ""}`]] : []),
      ] as [string, string][]).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    (c.photos?.length || c.resultPhotos?.length) && can(session, "cases:read")
      ? h("div", { class: "photos" }, ...[...(c.photos ?? []), ...(c.resultPhotos ?? [])].map(photo)) : null,
    actions, form,
    h("h4", {}, t("caseTimeline")),
    h("ol", { class: "timeline" }, ...(c.history ?? []).map((x: any) =>
      h("li", { dataset: { action: x.action } },
        h("time", {}, fmtTime(x.at, true)), " ",
        h("strong", {}, t(`action_${x.action}` as Key) || x.action), " ",
        x.to ? `→ ${t(`state_${x.to}` as Key)}` : "", x.actor ? ` · ${x.actor}` : "", x.note ? ` · ${x.note}` : ""))),
  );
  const mine = (c.allowedActions ?? []).filter((a: string) => permitted(session, a));
  clear(actions, ...mine.map((a: string) =>
    h("button", { type: "button", class: `action action-${a}`, dataset: { action: a }, onclick: () => clear(form, actionForm(c, a)) },
      t(`action_${a}` as Key))));
  return root;
}

function field(label: Key, input: HTMLElement): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, t(label)), input);
}

// The form of one action: what it needs (department, result and photo, rating, note).
function actionForm(c: Case, action: string): HTMLElement {
  const id = String(c.id).split(":").pop()!;
  const inputs: Record<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement> = {};
  const parts: HTMLElement[] = [];
  if (action === "dispatch" || action === "reassign") {
    const sel = h("select", { name: "department", required: true },
      ...(city.catalog?.departments ?? []).map((d: any) => h("option", { value: d.id }, pick(d.name))));
    if (c.department) sel.value = c.department;
    inputs.department = sel;
    parts.push(field("department", sel));
  }
  if (action === "assign" || action === "dispatch" || action === "reassign") {
    inputs.handler = h("input", { name: "handler", type: "text" });
    parts.push(field("handler", inputs.handler));
  }
  let photoInput: HTMLInputElement | null = null;
  if (action === "resolve") {
    inputs.result = h("textarea", { name: "result", required: true, rows: 2 });
    parts.push(field("result", inputs.result));
    photoInput = h("input", { name: "photo", type: "file", accept: "image/jpeg,image/png,image/webp" });
    parts.push(field("photo", photoInput));
  }
  if (action === "rate") {
    const sel = h("select", { name: "rating" }, ...[5, 4, 3, 2, 1].map((n) => h("option", { value: String(n) }, `${"★".repeat(n)} ${n}`)));
    inputs.rating = sel;
    parts.push(field("rating", sel));
  }
  if (action === "merge") {
    inputs.into = h("input", { name: "into", type: "text", inputmode: "numeric", required: true });
    parts.push(field("mergeInto", inputs.into));
  }
  inputs.note = h("input", { name: "note", type: "text" });
  parts.push(field(action === "rate" ? "comment" : "note", inputs.note));
  const submit = h("button", { type: "submit", class: "primary" }, t(`action_${action}` as Key));
  const f = h("form", { class: "action-form", dataset: { action } }, ...parts, h("div", { class: "row" }, submit));
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const body: Record<string, unknown> = { action, version: c.version };
      for (const [k, el] of Object.entries(inputs)) {
        const v = el.value.trim();
        if (!v) continue;
        body[k] = k === "rating" ? Number(v) : v;
      }
      if (photoInput?.files?.length) body.photos = [await uploadPhoto(photoInput.files[0])];
      const updated = await post<Case>(`/api/v1/cases/${id}/transitions`, body);
      city.cases.set(updated.id, updated);
      city.changed("cases");
      toast(`#${id} ${t(`state_${updated.state}` as Key)}`);
      city.select({ kind: "case", id });
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), "error");
      submit.disabled = false;
    }
  });
  return f;
}
