// @ts-check
// Small helpers shared by the desk pages (operator, statements, payouts, subtitle editor).

import { ApiError } from "./api.js";
import { slot } from "./dom.js";

/**
 * Show a notice or an error at the top of the page (empty text hides it).
 * @param {ParentNode} root
 * @param {"notice" | "error"} kind
 * @param {string} [text]
 */
export function say(root, kind, text) {
  const element = slot(kind, root);
  element.textContent = text || "";
  element.hidden = !text;
}

/** @param {unknown} error */
export function problem(error) {
  return error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
}

export const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
