// Small helpers shared by the brand's and the creator's shop pages.

import { ApiError } from "./api.js";

/** The JSON the page inlined for its script. */
export function pageData() {
  const node = document.getElementById("page-data");
  return node ? JSON.parse(node.textContent) : {};
}

export const slot = (name, root = document) => root.querySelector(`[data-slot="${name}"]`);

export function notify(text) {
  slot("error").hidden = true;
  const box = slot("notice");
  box.textContent = text;
  box.hidden = false;
}

export function fail(error) {
  slot("notice").hidden = true;
  const box = slot("error");
  box.textContent = error instanceof ApiError ? error.message : String(error?.message || error);
  box.hidden = false;
}

/** An element with attributes (`dataset`, `on*` listeners, plain attributes) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Cents as people read them: "$49.00", "€12.50". */
export function money(cents, currency = "USD") {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** "49", "49.9", "49.90" → 4990 cents, exactly (no floating point); null when not a price. */
export function parseCents(text) {
  const match = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(String(text));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

/** Per-mille as a percentage: 125 → "12.5 %"; null → "–". */
export function permille(value) {
  return value === null || value === undefined ? "–" : `${(value / 10).toFixed(1)} %`;
}

/** A date (ISO string) as "2026-11-25". */
export const day = (iso) => (iso ? String(iso).slice(0, 10) : "–");

export function statusBadge(status) {
  return el("span", { class: `status status-${status}`, dataset: { testid: "status" }, text: status });
}

/** Run an API call from a button: disabled while it runs, errors shown in the page's alert. */
export async function busy(button, call) {
  button.disabled = true;
  try {
    return await call();
  } catch (error) {
    fail(error);
    return undefined;
  } finally {
    button.disabled = false;
  }
}
