// The wallboard's entry: sign-in, then the operations view (map, alerts, KPIs, cases,
// details) or, for grid workers and phone-sized screens, the worker's view.
import "./style.css";
import { h, clear } from "./dom";
import { t, setLocale, currentLocale, onLocaleChange, translateDom, fmtTime, type Locale } from "./i18n";
import { signIn, signOut, currentSession, whenUnauthorized, setToken, can, get, ApiError, type Session } from "./api";
import { city } from "./state";
import { CityFeeds } from "./feeds";
import { CityMap, LAYER_GROUPS, LAYER_LABELS, type LayerGroup } from "./map";
import { alertFeed } from "./panels/alerts";
import { kpiPanel } from "./panels/kpi";
import { detailPanel } from "./panels/detail";
import { casesPanel } from "./panels/cases";
import { parkingPanel } from "./panels/parking";
import { replayBar } from "./panels/replay";
import { workerView } from "./worker";

const app = document.getElementById("app")!;
document.documentElement.lang = currentLocale();

function languageSwitch(): HTMLElement {
  const sel = h("select", { id: "language", "aria-label": t("language") },
    h("option", { value: "zh-CN" }, "中文"), h("option", { value: "en" }, "English"));
  sel.value = currentLocale();
  sel.addEventListener("change", () => setLocale(sel.value as Locale));
  onLocaleChange(() => { sel.value = currentLocale(); sel.setAttribute("aria-label", t("language")); });
  return sel;
}

function signInView(): void {
  const user = h("input", { name: "user", autocomplete: "username", required: true, "data-i18n-placeholder": "userName", placeholder: t("userName") });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, "data-i18n-placeholder": "password", placeholder: t("password") });
  const error = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", "data-i18n": "signIn" }, t("signIn"));
  const form = h("form", { class: "signin", id: "signin" },
    h("h1", { "data-i18n": "appTitle" }, t("appTitle")),
    h("p", { class: "hint", "data-i18n": "signInHint" }, t("signInHint")),
    h("label", { class: "field" }, h("span", { "data-i18n": "userName" }, t("userName")), user),
    h("label", { class: "field" }, h("span", { "data-i18n": "password" }, t("password")), pass),
    error, h("div", { class: "row" }, submit, languageSwitch()));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const s = await signIn(user.value.trim(), pass.value);
      if (s.user?.locale === "en" || s.user?.locale === "zh-CN") setLocale(s.user.locale as Locale);
      await start(s);
    } catch (e) {
      error.textContent = e instanceof ApiError && e.status === 429 ? t("signInThrottled", { s: e.retryAfter ?? 60 })
        : e instanceof ApiError && e.status === 401 ? t("signInFailed") : String(e instanceof Error ? e.message : e);
      submit.disabled = false;
    }
  });
  onLocaleChange(() => translateDom(form));
  clear(app, form);
  app.removeAttribute("aria-busy");
  user.focus();
}

function header(session: Session, feeds: CityFeeds | null, worker: boolean, canSwitch: boolean): HTMLElement {
  const clock = h("time", { class: "clock" });
  const tick = () => (clock.textContent = fmtTime(new Date().toISOString(), false));
  tick();
  setInterval(tick, 1000);
  const link = h("span", { class: "link link-connecting", id: "link", role: "status", "aria-live": "polite" }, t("connecting"));
  const who = h("span", { class: "who" }, session.user?.displayName || session.name);
  const out = h("button", { type: "button", id: "signout", "data-i18n": "signOut", onclick: async () => { feeds?.stop(); await signOut(); location.hash = ""; location.reload(); } }, t("signOut"));
  const switcher = canSwitch
    ? h("button", { type: "button", id: "view-switch", "data-i18n": worker ? "wallView" : "workerView",
        onclick: () => { location.hash = worker ? "" : "#worker"; location.reload(); } }, t(worker ? "wallView" : "workerView"))
    : null;
  const root = h("header", { class: "top" },
    h("h1", { "data-i18n": worker ? "appShort" : "appTitle" }, t(worker ? "appShort" : "appTitle")),
    clock, link, switcher, h("span", { class: "spacer" }), languageSwitch(), who, out);
  onLocaleChange(() => { translateDom(root); tick(); });
  return root;
}

function setLink(allOpen: boolean, anyClosed: boolean): void {
  const el = document.getElementById("link");
  if (!el) return;
  const state = allOpen ? "open" : anyClosed ? "closed" : "connecting";
  el.className = `link link-${state}`;
  el.dataset.state = state;
  el.textContent = t(state === "open" ? "connected" : state === "closed" ? "disconnected" : "connecting");
  document.body.classList.toggle("offline", state === "closed");
}

function layerToggles(map: CityMap): HTMLElement {
  const box = h("fieldset", { class: "layers" }, h("legend", { "data-i18n": "layers" }, t("layers")));
  for (const g of Object.keys(LAYER_GROUPS) as LayerGroup[]) {
    const input = h("input", { type: "checkbox", name: g, dataset: { layer: g } });
    input.checked = map.isVisible(g);
    input.addEventListener("change", () => map.setVisible(g, input.checked));
    box.append(h("label", {}, input, h("span", { "data-i18n": LAYER_LABELS[g] }, t(LAYER_LABELS[g]))));
  }
  onLocaleChange(() => translateDom(box));
  return box;
}

async function wallboard(session: Session): Promise<void> {
  let lastLink = { open: false, closed: false };
  const feeds = new CityFeeds(session, (allOpen, states) => {
    lastLink = { open: allOpen, closed: [...states.values()].includes("closed") };
    setLink(lastLink.open, lastLink.closed);
  });
  const mapEl = h("div", { id: "map", role: "region", "aria-label": t("layerZones") });
  const mapBox = h("section", { class: "map-box" }, mapEl);
  const left = h("aside", { class: "col left" });
  const right = h("aside", { class: "col right" });
  const canSwitch = can(session, "cases:report");
  const layout = h("div", { class: "wall", id: "wall" }, left, mapBox, right);
  clear(app, header(session, feeds, false, canSwitch), layout);
  app.removeAttribute("aria-busy");
  onLocaleChange(() => setLink(lastLink.open, lastLink.closed));

  const map = new CityMap(mapEl);
  mapBox.append(layerToggles(map), replayBar());
  left.append(kpiPanel(session), alertFeed(session));
  right.append(detailPanel(session));
  if (can(session, "cases:read")) right.append(casesPanel());
  city.on("select", (sel) => {
    if (!sel) return;
    const p = sel.kind === "lot" ? city.lots.get(sel.id)?.location?.coordinates : null;
    if (p) map.flyTo(p as [number, number]);
  });

  // Destinations for parking guidance: the points of interest.
  const pois = can(session, "context:read")
    ? get<any[]>("/ngsi-ld/v1/entities?type=PointOfInterest&options=keyValues&attrs=name&limit=100").catch(() => [])
    : Promise.resolve([]);
  feeds.start();
  await feeds.load().catch((e) => console.warn("load", e));
  const places = await pois;
  if (places.length) right.insertBefore(parkingPanel(places.map((p) => ({ id: p.id, name: p.name }))), right.children[1] ?? null);
  document.body.dataset.ready = "1";
}

async function worker(session: Session): Promise<void> {
  const feeds = new CityFeeds(session, (allOpen, states) => setLink(allOpen, [...states.values()].includes("closed")));
  const canSwitch = can(session, "cases:read");
  clear(app, header(session, feeds, true, canSwitch), workerView(session));
  app.removeAttribute("aria-busy");
  feeds.start();
  await feeds.load().catch((e) => console.warn("load", e));
  document.body.dataset.ready = "1";
}

async function start(s: Session): Promise<void> {
  document.body.classList.remove("signed-out");
  const wantsWorker = location.hash === "#worker" || !can(s, "cases:read") && can(s, "cases:report") && !can(s, "context:write");
  if (wantsWorker && can(s, "cases:report")) await worker(s);
  else await wallboard(s);
}

// Every element that names its string (data-i18n…) follows the language; panels that draw
// from data redraw themselves.
onLocaleChange(() => translateDom(document));

whenUnauthorized(() => {
  // The session ended (expired or signed out elsewhere): back to sign-in.
  setToken(null);
  location.reload();
});

(async () => {
  let s: Session | null = null;
  try {
    s = await currentSession();
  } catch {
    s = null;
  }
  if (s) await start(s);
  else {
    document.body.classList.add("signed-out");
    signInView();
  }
})();

