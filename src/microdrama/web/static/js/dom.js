// @ts-check
// The DOM helpers every page script shares: its template's slots, building elements, test hooks.

/**
 * The element marked `data-slot="name"` inside `root` (the whole page by default). The
 * templates write the slots their script uses, so it is typed as present; a script that needs
 * an input's `.value` or a video's methods names the element type with a JSDoc cast.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} name
 * @param {ParentNode} [root]
 * @returns {T}
 */
export function slot(name, root = document) {
  return /** @type {T} */ (root.querySelector(`[data-slot="${name}"]`));
}

/** @typedef {Node | string | null | undefined | false} Child */

/**
 * An element with attributes and children: `el("td", { class: "num" }, "12")`. In `attrs`,
 * `dataset` fills data-* attributes, `text` the text, `on*` functions become listeners, `true`
 * an empty attribute; `false`, null and undefined leave the attribute out (and the child).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
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
  node.append(.../** @type {(Node | string)[]} */ (children.filter((c) => c !== null && c !== undefined && c !== false)));
  return node;
}

/**
 * Whether this page may hand its state to tests and benchmarks: only when the server's
 * `expose_test_hooks` setting is on (the layout then marks <body data-test-hooks>), so
 * viewers' browsers never carry `window.__player` and its kin.
 */
export const testHooksEnabled = () => document.body?.dataset.testHooks !== undefined;

/**
 * Publish `value` as `window[name]` for tests (`window.__player`...), when enabled; answers
 * `value` either way so a script can keep using it.
 * @template T
 * @param {string} name
 * @param {T} value
 * @returns {T}
 */
export function exposeForTests(name, value) {
  if (testHooksEnabled()) /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (window))[name] = value;
  return value;
}

/**
 * What a test set as `window[name]` before the page's scripts ran (overrides such as a smaller
 * upload chunk), when test hooks are enabled; otherwise undefined.
 * @param {string} name
 * @returns {any}
 */
export function testOverrides(name) {
  return testHooksEnabled() ? /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (window))[name] : undefined;
}

/**
 * A form's named controls, `fields(form).title.value`: typed as inputs, which a select or a
 * textarea resembles for `value` and `disabled`.
 * @param {HTMLFormElement} form
 * @returns {Record<string, HTMLInputElement>}
 */
export function fields(form) {
  return /** @type {any} */ (form.elements);
}
