// Small helpers to build DOM without a framework: h() makes an element with attributes,
// listeners and children; panel() makes a titled, keyboard-reachable section.
import { t, type Key } from "./i18n";

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, any>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}
export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}
export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
// A button whose text follows the language.
export function button(key: Key, onclick: (ev: MouseEvent) => void, attrs: Attrs = {}): HTMLButtonElement {
  return h("button", { type: "button", onclick, ...attrs }, t(key));
}
// A section with a heading; the heading's text follows the language (data-i18n).
export function panel(id: string, title: Key, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title`, "data-i18n": title }, t(title)), ...children);
}
// Shows a transient message at the bottom of the screen (errors, confirmations).
export function toast(text: string, kind: "info" | "error" = "info"): void {
  const box = document.getElementById("toasts") ?? document.body.appendChild(h("div", { id: "toasts", role: "status", "aria-live": "polite" }));
  const el = h("div", { class: `toast toast-${kind}` }, text);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 8000 : 4000);
}
