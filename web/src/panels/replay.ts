// The time slider: drag back up to six hours to see the zones' levels and counts as they
// were (from /api/v1/situation/history), or press Live to follow the city again.
import { city } from "../state";
import { h } from "../dom";
import { t, fmtTime, onLocaleChange } from "../i18n";
import { get } from "../api";

const HOURS = 6;
const STEPS = HOURS * 60; // one step per minute

export function replayBar(): HTMLElement {
  const slider = h("input", { type: "range", min: "0", max: String(STEPS), value: String(STEPS), step: "1", id: "replay-slider", "aria-label": t("replay") });
  const label = h("output", { for: "replay-slider", class: "replay-label" }, t("live"));
  const liveBtn = h("button", { type: "button", class: "replay-live" }, t("live"));
  const root = h("div", { class: "replay-bar", role: "group", "aria-label": t("replay") },
    h("span", { class: "replay-title" }, t("replay")), slider, label, liveBtn);
  let timer: number | undefined;
  let asked = 0;

  const at = () => new Date(Date.now() - (STEPS - Number(slider.value)) * 60_000);
  const show = () => {
    const live = Number(slider.value) >= STEPS;
    root.classList.toggle("replaying", !live);
    document.body.classList.toggle("replaying", !live);
    label.textContent = live ? t("live") : t("replayAt", { t: fmtTime(at().toISOString(), true) });
  };
  const goLive = () => {
    slider.value = String(STEPS);
    city.replay = null;
    show();
    city.changed("replay");
    city.changed("zones");
  };
  const load = async () => {
    if (Number(slider.value) >= STEPS) return goLive();
    const mine = ++asked;
    const when = at().toISOString();
    try {
      const frame = await get(`/api/v1/situation/history?at=${encodeURIComponent(when)}`);
      if (mine !== asked) return;
      city.replay = { at: frame.at, zones: frame.zones };
      city.changed("replay");
      city.changed("zones");
    } catch {
      /* keep the last frame */
    }
  };
  slider.addEventListener("input", () => {
    show();
    clearTimeout(timer);
    timer = window.setTimeout(load, 150);
  });
  liveBtn.addEventListener("click", goLive);
  onLocaleChange(() => {
    show();
    liveBtn.textContent = t("live");
    (root.querySelector(".replay-title") as HTMLElement).textContent = t("replay");
  });
  return root;
}
