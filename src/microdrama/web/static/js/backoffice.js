// @ts-check
// The helpers every back-office page shares (studio, brand and operator pages): the notice and
// the error line of backoffice_layout.html, busy buttons, and how amounts and dates read.

import { ApiError, clearFormErrors, formatNumber, money, showFormErrors } from "./api.js";
import { el, slot } from "./dom.js";

/** The JSON the page inlined for its script. */
export function pageData() {
  const node = document.getElementById("page-data");
  return node ? JSON.parse(node.textContent) : {};
}

/**
 * Show a notice or an error at the top of the page (empty text hides it).
 * @param {"notice" | "error"} kind
 * @param {string} [text]
 */
export function say(kind, text) {
  const element = slot(kind);
  element.textContent = text || "";
  element.hidden = !text;
}

/**
 * A notice at the top of the page, in place of any error.
 * @param {string} text
 */
export function notify(text) {
  say("error", "");
  say("notice", text);
}

/**
 * What to tell about a failed call: the API's message, or a plain apology.
 * @param {unknown} error
 */
export function problem(error) {
  return error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
}

/**
 * Show an error at the top of the page; with a `form`, each field's problem under it too
 * (`fields` maps API field paths to the form's control names where they differ).
 * @param {unknown} error
 * @param {{ form?: ParentNode | null, fields?: Record<string, string> }} [where]
 */
export function fail(error, { form = null, fields = {} } = {}) {
  slot("notice").hidden = true;
  const box = slot("error");
  if (form) {
    showFormErrors(form, error, { summary: box, fields });
    return;
  }
  box.textContent = error instanceof ApiError ? error.message : String(/** @type {any} */ (error)?.message || error);
  box.hidden = false;
}

/**
 * A problem found before sending, shown like the server's: under the field and at the top.
 * @param {ParentNode} form
 * @param {string} name
 * @param {string} message
 */
export function failField(form, name, message) {
  fail(new ApiError(422, { error: "invalid_request", message, problems: [{ field: name, message }] }), { form });
}

/**
 * "49", "49.9", "49.90" → 4990 cents, exactly (no floating point); null when not a price.
 * @param {unknown} text
 * @returns {number | null}
 */
export function parseCents(text) {
  const match = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(String(text));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

/**
 * Per-mille as a percentage: 125 → "12.5 %"; null → "–".
 * @param {number | null | undefined} value
 */
export function permille(value) {
  return value === null || value === undefined ? "–" : `${(value / 10).toFixed(1)} %`;
}

/**
 * A date (ISO string) as "2026-11-25".
 * @param {string | null | undefined} iso
 */
export const day = (iso) => (iso ? String(iso).slice(0, 10) : "–");

export const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});

/**
 * An earner's amount in its currency: cents as dollars, coins as coins.
 * @param {number} amount
 * @param {string} currency
 */
export const amountText = (amount, currency) => (currency === "USD" ? money(amount) : `${formatNumber(amount)} coins`);

/**
 * @param {string} status
 */
export function statusBadge(status) {
  return el("span", { class: `bo-status bo-status-${status}`, dataset: { testid: "status" }, text: status });
}

/**
 * Run an API call from a button: disabled while it runs, errors shown in the page's alert
 * (and under the fields of `where.form`, see fail).
 * @template T
 * @param {HTMLButtonElement} button
 * @param {() => Promise<T>} call
 * @param {{ form?: ParentNode | null, fields?: Record<string, string> }} [where]
 * @returns {Promise<T | undefined>}
 */
export async function busy(button, call, where = {}) {
  button.disabled = true;
  if (where.form) clearFormErrors(where.form);
  try {
    return await call();
  } catch (error) {
    fail(error, where);
    return undefined;
  } finally {
    button.disabled = false;
  }
}
