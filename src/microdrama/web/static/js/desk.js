// Small helpers shared by the desk pages (operator, statements, payouts, subtitle editor).

import { ApiError } from "./api.js";

export const slot = (root, name) => root.querySelector(`[data-slot="${name}"]`);

/** Show a notice or an error at the top of the page (empty text hides it). */
export function say(root, kind, text) {
  const element = slot(root, kind);
  element.textContent = text || "";
  element.hidden = !text;
}

export function problem(error) {
  return error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
}

/** An element with text and attributes: el("td", { class: "num" }, "12"). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.filter((c) => c !== null && c !== undefined));
  return element;
}

export const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
