// The grid worker's view, made for a phone: report a problem with a photo and its location
// (the phone's position, or a tap on the map), and follow one's own reports (verify and
// rate them once the department has resolved them).
import { city, type Case } from "./state";
import { h, clear, toast } from "./dom";
import { t, pick, fmtTime, onLocaleChange, type Key } from "./i18n";
import { get, post, ApiError, type Session } from "./api";
import { CityMap } from "./map";
import { categoryName, slaBadge, uploadPhoto } from "./panels/cases";

export function workerView(session: Session): HTMLElement {
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const body = h("div", { class: "worker-body" });
  const root = h("main", { class: "worker", id: "worker" }, tabs, body);
  let tab: "report" | "mine" = "report";
  const reportBox = reportForm();
  const mineBox = h("div", { class: "my-cases" });

  const drawTabs = () => clear(tabs,
    ...(["report", "mine"] as const).map((k) =>
      h("button", { type: "button", role: "tab", "aria-selected": String(tab === k), class: tab === k ? "active" : "",
        dataset: { tab: k }, onclick: () => { tab = k; drawTabs(); show(); } }, t(k === "report" ? "report" : "myCases"))));
  const show = () => {
    clear(body, tab === "report" ? reportBox : mineBox);
    if (tab === "mine") loadMine();
  };
  const loadMine = async () => {
    try {
      const list: Case[] = await get(`/api/v1/cases?reporter=${encodeURIComponent(session.name)}&limit=50`);
      clear(mineBox, list.length === 0 ? h("p", { class: "empty" }, t("noCases")) :
        h("ol", { class: "case-list" }, ...list.map((c) => myCase(c, loadMine))));
    } catch (e) {
      clear(mineBox, h("p", { class: "error" }, e instanceof Error ? e.message : String(e)));
    }
  };
  drawTabs();
  show();
  onLocaleChange(() => { drawTabs(); show(); });
  city.on("cases", () => tab === "mine" && loadMine());
  return root;
}

function myCase(c: Case, reload: () => void): HTMLElement {
  const id = String(c.id).split(":").pop()!;
  const form = h("div");
  const canAct = (a: string) => (c.allowedActions ?? []).includes(a);
  const act = async (body: Record<string, unknown>) => {
    try {
      await post(`/api/v1/cases/${id}/transitions`, { version: c.version, ...body });
      reload();
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), "error");
    }
  };
  const rateForm = () => {
    const sel = h("select", { name: "rating", "aria-label": t("rating") }, ...[5, 4, 3, 2, 1].map((n) => h("option", { value: String(n) }, `${"★".repeat(n)} ${n}`)));
    const note = h("input", { name: "note", type: "text", "aria-label": t("comment"), placeholder: t("comment") });
    const f = h("form", { class: "action-form", dataset: { action: "rate" } }, sel, note, h("button", { type: "submit", class: "primary" }, t("action_rate")));
    f.addEventListener("submit", (ev) => { ev.preventDefault(); act({ action: "rate", rating: Number(sel.value), note: note.value || undefined }); });
    clear(form, f);
  };
  return h("li", { dataset: { case: id, state: c.state } },
    h("div", { class: "case-line" },
      h("span", { class: "case-id" }, `#${id}`),
      h("span", { class: "case-title" }, c.title || categoryName(c.category)),
      h("span", { class: `case-state state-${c.state}` }, t(`state_${c.state}` as Key)), slaBadge(c)),
    h("div", { class: "case-meta" }, fmtTime(c.createdAt, true), c.result ? ` · ${t("result")}: ${c.result}` : ""),
    h("div", { class: "row" },
      canAct("verify") ? h("button", { type: "button", dataset: { action: "verify" }, onclick: () => act({ action: "verify" }) }, t("action_verify")) : null,
      canAct("rate") ? h("button", { type: "button", dataset: { action: "rate" }, onclick: rateForm }, t("action_rate")) : null),
    form);
}

function reportForm(): HTMLElement {
  const cat = h("select", { name: "category", required: true, "aria-label": t("category") });
  const desc = h("textarea", { name: "description", rows: 3, maxlength: 4000, required: true, "aria-label": t("description") });
  const file = h("input", { name: "photo", type: "file", accept: "image/*", capture: "environment", "aria-label": t("photo") });
  const where = h("p", { class: "where" }, t("locationHint"));
  const mapEl = h("div", { class: "worker-map" });
  const locBtn = h("button", { type: "button" }, t("useMyLocation"));
  const submit = h("button", { type: "submit", class: "primary" }, t("submit"));
  let point: [number, number] | null = null;
  const labels = {
    cat: h("span", {}, t("category")), desc: h("span", {}, t("description")), photo: h("span", {}, t("photo")),
  };
  const form = h("form", { class: "report-form" },
    h("label", { class: "field" }, labels.cat, cat),
    h("label", { class: "field" }, labels.desc, desc),
    h("label", { class: "field" }, labels.photo, file),
    mapEl, where, h("div", { class: "row" }, locBtn, submit));
  const fillCategories = () => {
    const v = cat.value;
    clear(cat, h("option", { value: "" }, t("chooseCategory")),
      ...(city.catalog?.categories ?? []).filter((c: any) => c.leaf).map((c: any) => h("option", { value: c.code }, `${c.code} ${pick(c.name)}`)));
    cat.value = v;
    labels.cat.textContent = t("category"); labels.desc.textContent = t("description"); labels.photo.textContent = t("photo");
    locBtn.textContent = t("useMyLocation"); submit.textContent = t("submit");
    where.textContent = point ? t("locationSet", { lat: point[1].toFixed(5), lon: point[0].toFixed(5) }) : t("locationHint");
  };
  city.on("catalog", fillCategories);
  onLocaleChange(fillCategories);
  fillCategories();

  // A small map to tap the place; created once the form is on the page.
  let map: CityMap | null = null;
  const setPoint = (p: [number, number]) => {
    point = p;
    map?.showPicked(p);
    where.textContent = t("locationSet", { lat: p[1].toFixed(5), lon: p[0].toFixed(5) });
  };
  requestAnimationFrame(function make() {
    if (!mapEl.isConnected) return requestAnimationFrame(make);
    map = new CityMap(mapEl);
    map.pickLocation(setPoint);
  });
  locBtn.addEventListener("click", () => {
    navigator.geolocation?.getCurrentPosition(
      (pos) => setPoint([pos.coords.longitude, pos.coords.latitude]),
      () => toast(t("locationHint"), "error"),
      { enableHighAccuracy: true, timeout: 10_000 });
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!cat.value) return toast(t("required", { f: t("category") }), "error");
    if (!desc.value.trim()) return toast(t("required", { f: t("description") }), "error");
    if (!point) return toast(t("required", { f: t("locationHint") }), "error");
    submit.disabled = true;
    try {
      const photos = file.files?.length ? [await uploadPhoto(file.files[0])] : [];
      const c = await post<Case>("/api/v1/cases", {
        category: cat.value, description: desc.value.trim(), source: "grid_worker",
        location: { type: "Point", coordinates: point }, photos,
      });
      const id = String(c.id).split(":").pop()!;
      toast(c.linkedTo ? t("reportedLinked", { id: String(c.linkedTo).split(":").pop()! }) : t("reported", { id }));
      form.dataset.lastCase = id;
      desc.value = "";
      file.value = "";
    } catch (e) {
      toast(e instanceof ApiError ? e.message : String(e), "error");
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
