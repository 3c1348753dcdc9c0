// The alert feed: open alerts, most severe first, each with its level in words (not colour
// alone), zone, time and state; operators with context:write acknowledge them here; "plan
// and actions" opens the zone's detail (tier plan actions, time at each level today).
import { city, type Alert } from "../state";
import { h, clear, panel, toast } from "../dom";
import { t, pick, fmtTime, onLocaleChange, type Key } from "../i18n";
import { post, can, ApiError, type Session } from "../api";

// An alert's level in words (I–IV and its colour), never by colour alone.
export function alertLevelText(level: number): string {
  return level >= 1 && level <= 4 ? t(`alertLevel${level}` as Key) : String(level);
}

export function zoneName(id: string | undefined | null): string {
  if (!id) return "";
  return pick(city.shapes.get(id)?.name ?? city.zones.get(id)?.name) || id.split(":").pop()!;
}

export async function acknowledge(a: Alert): Promise<void> {
  try {
    const updated = await post(`/api/v1/alerts/${encodeURIComponent(a.id)}/acknowledge`);
    city.alerts.set(updated.id, updated);
    city.changed("alerts");
  } catch (e) {
    toast(e instanceof ApiError ? e.message : String(e), "error");
  }
}

export function alertFeed(session: Session): HTMLElement {
  const list = h("ol", { class: "alert-list", "aria-live": "polite" });
  const root = panel("alerts", "alerts", list);
  const draw = () => {
    const open = [...city.alerts.values()]
      .filter((a) => a.state !== "resolved")
      .sort((a, b) => a.level - b.level || String(b.raisedAt).localeCompare(String(a.raisedAt)));
    if (open.length === 0) {
      clear(list, h("li", { class: "empty" }, t("noAlerts")));
      return;
    }
    clear(list, ...open.slice(0, 200).map((a) => alertItem(a, session)));
  };
  city.on("alerts", draw);
  city.on("shapes", draw);
  onLocaleChange(draw);
  draw();
  return root;
}

function alertItem(a: Alert, session: Session): HTMLElement {
  const canAck = can(session, "context:write") && a.state === "active";
  return h("li", { class: `alert alert-${a.color ?? "red"} state-${a.state}`, dataset: { alert: a.id, level: String(a.level) } },
    h("button", { type: "button", class: "alert-open", onclick: () => city.select({ kind: "alert", id: a.id }) },
      h("span", { class: "alert-level" }, alertLevelText(a.level)),
      h("span", { class: "alert-headline" }, pick(a.headline) || a.event || a.category),
      h("span", { class: "alert-meta" }, `${zoneName(a.zone)} · ${t("raisedAt", { t: fmtTime(a.raisedAt) })} · ${t(`alertState_${a.state}` as any)}`),
    ),
    h("div", { class: "alert-actions" },
      canAck ? h("button", { type: "button", class: "primary ack", onclick: () => acknowledge(a) }, t("acknowledge")) : null,
      a.zone ? h("button", { type: "button", class: "plan", onclick: () => city.select({ kind: "zone", id: a.zone! }) }, t("openPlan")) : null,
    ),
  );
}
