// @ts-check
// Talking to the JSON API: errors as values people can read, idempotency keys, prices.

/** An error answer of the API: `code` is stable (insufficient_coins...), `message` is for people. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error || (status === 0 ? "network" : "http_error");
    this.body = body || {};
  }

  /** Worth retrying with the same idempotency key: nothing definite came back. */
  get retryable() {
    return this.status === 0 || this.status >= 500;
  }
}

/**
 * fetch() for JSON: resolves to the parsed body, rejects with an ApiError.
 * @param {string} method
 * @param {string} url
 * @param {{ body?: unknown, idempotencyKey?: string, keepalive?: boolean }} [options]
 *   keepalive: the request goes on when the page is left right after it (a tap, then a link)
 * @returns {Promise<any>}
 */
export async function api(method, url, { body, idempotencyKey, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      keepalive,
    });
  } catch {
    throw new ApiError(0, { message: "No connection. Check your network and try again." });
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One idempotency key per intended action: the same key is reused when the same action is
 * retried after an unclear outcome (network error, 5xx), a fresh one once it has an answer.
 * Kept in sessionStorage, so a retry after a reload still cannot charge twice.
 */
export const intents = {
  key(action) {
    const name = `md_intent:${action}`;
    let key = sessionStorage.getItem(name);
    if (!key) {
      key = randomKey();
      sessionStorage.setItem(name, key);
    }
    return key;
  },
  done(action) {
    sessionStorage.removeItem(`md_intent:${action}`);
  },
};

/**
 * Run a money-moving call under the action's key; forget the key once the answer is definite.
 * @template T
 * @param {string} action
 * @param {(idempotencyKey: string) => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function withIntent(action, call) {
  const key = intents.key(action);
  try {
    const result = await call(key);
    intents.done(action);
    return result;
  } catch (error) {
    if (!(error instanceof ApiError) || !error.retryable) intents.done(action);
    throw error;
  }
}

const number = new Intl.NumberFormat("en-US");

/**
 * A count with its noun: "1 episode", "3 episodes", "1,200 coins" (wording.plural on the server).
 * @param {number} n
 * @param {string} singular
 * @param {string} [pluralForm]
 */
export function plural(n, singular, pluralForm = `${singular}s`) {
  return `${number.format(n)} ${n === 1 ? singular : pluralForm}`;
}

/**
 * @param {number} n
 */
export function coins(n) {
  return plural(n, "coin");
}

/**
 * A price in coins with its worth in money, as the server writes it: "80 coins ($0.80)".
 * `cents` always comes from the API (one conversion, on the server).
 * @param {number} n
 * @param {number} cents
 */
export function coinPrice(n, cents) {
  return `${coins(n)} (${money(cents)})`;
}

/**
 * Cents as people read them: "$49.00", "€12.50" (a currency the browser does not know: "12.50 XYZ").
 * @param {number} cents
 * @param {string} [currency]
 */
export function money(cents, currency = "USD") {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/**
 * A VIP plan's period as people say it: "week", "month", "year", "90 days".
 * @param {number} days
 */
export function period(days) {
  if (days === 7) return "week";
  if (days === 30 || days === 31) return "month";
  if (days === 365 || days === 366) return "year";
  return plural(days, "day");
}

/**
 * @param {number} n
 */
export function formatNumber(n) {
  return number.format(n);
}

/**
 * Every element showing the viewer's balance (the coin pills) says `total` coins.
 * @param {number} total
 */
export function showBalance(total) {
  for (const element of document.querySelectorAll("[data-balance]")) {
    element.textContent = number.format(total);
    const link = element.closest("a");
    if (link) link.setAttribute("aria-label", `Wallet: ${coins(total)}`);
  }
}

/**
 * Wait until a purchase is settled (paid, failed, refunded) or `timeoutMs` has passed.
 * @param {number | string} id
 * @param {{ timeoutMs?: number, everyMs?: number }} [options]
 * @returns {Promise<any>} the purchase as the API answers it
 */
export async function settledPurchase(id, { timeoutMs = 30_000, everyMs = 400 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const purchase = await api("GET", `/api/purchases/${id}`);
    if (purchase.status !== "pending" || performance.now() > deadline) return purchase;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Start buying a coin pack or VIP plan and go to the provider's checkout page.
 * @param {{ coin_pack?: string, vip_plan?: string }} product
 * @param {string} returnTo
 */
export async function checkout(product, returnTo) {
  const action = `purchase:${product.coin_pack || product.vip_plan}:${returnTo}`;
  const created = await withIntent(action, (key) =>
    api("POST", "/api/purchases", { body: { ...product, return_to: returnTo }, idempotencyKey: key }),
  );
  location.assign(created.checkout_url);
  return created;
}

/**
 * The message to show for an API error, with the details the viewer needs.
 * @param {unknown} error
 * @returns {string}
 */
export function explain(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  const body = error.body;
  switch (error.code) {
    case "insufficient_coins":
      return `Not enough coins: this costs ${coins(body.price_coins)} and you have ${coins(body.balance_coins)}.`;
    case "spend_limit_reached":
      return `That would pass your weekly spend limit of ${coins(body.weekly_limit_coins)} ` +
        `(${coins(body.spent_this_week_coins)} spent in the last 7 days). You can change it in your account.`;
    default:
      return error.message;
  }
}

// Form errors ----------------------------------------------------------------------------------

/** The control a problem's field path names inside `form` (a form, or any element holding
 *  named inputs, like a table row): "shipping.name" → [name=name], "tags.3" → [name=tags];
 *  `fields` maps API paths to control names where they differ. */
function controlFor(form, path, fields) {
  if (!path) return null;
  const named = (name) => form.querySelector(`[name="${CSS.escape(name)}"]`);
  if (fields[path]) return named(fields[path]);
  const parts = String(path).split(".");
  for (let i = 0; i < parts.length; i++) {
    const name = parts.slice(i).join(".");
    // A form says "price" or "starts" where the API says price_cents or starts_at.
    const control = named(name) || named(name.replace(/_(cents|coins|ms|at|ids?)$/, ""));
    if (control) return control;
  }
  for (let j = parts.length - 1; j > 0; j--) {
    const control = named(parts.slice(0, j).join("."));
    if (control) return control;
  }
  return null;
}

// Per form, the listeners that clear its current messages: dropped with those messages.
const clearers = new WeakMap();

/**
 * Take every message a previous showFormErrors put on this form away.
 * @param {ParentNode} form
 */
export function clearFormErrors(form) {
  clearers.get(form)?.abort();
  clearers.delete(form);
  for (const note of form.querySelectorAll("[data-field-error]")) note.remove();
  for (const control of form.querySelectorAll("[aria-invalid=true]")) {
    control.removeAttribute("aria-invalid");
    control.removeAttribute("aria-describedby");
  }
}

let noteIds = 0;

/**
 * Show an API refusal on a form the way people expect: each problem's message right under its
 * field (marked aria-invalid and described by it), cleared as soon as that field changes, the
 * summary in `summary` (an element, or a function given the text), and the first bad field
 * focused. Problems whose field is not on the form are only in the summary. Answers the number
 * of fields marked, so a caller can tell a field problem from a refusal of the whole action.
 * @param {ParentNode} form
 * @param {unknown} error
 * @param {{ summary?: HTMLElement | ((text: string) => void) | null,
 *   fields?: Record<string, string> }} [options]
 * @returns {number}
 */
export function showFormErrors(form, error, { summary = null, fields = {} } = {}) {
  clearFormErrors(form);
  const problems = error instanceof ApiError ? error.body.problems || [] : [];
  const text = error instanceof ApiError ? explain(error) : String(/** @type {any} */ (error)?.message || error || "");
  if (typeof summary === "function") summary(text);
  else if (summary) {
    summary.textContent = text;
    summary.hidden = !text;
  }
  const listening = new AbortController();
  clearers.set(form, listening);
  let first = null;
  let marked = 0;
  for (const problem of problems) {
    const control = controlFor(form, problem.field, fields);
    if (!control || control.getAttribute("aria-invalid") === "true") continue;
    const note = document.createElement("span");
    note.className = "field-error";
    note.id = `field-error-${++noteIds}`;
    note.dataset.fieldError = problem.field;
    note.setAttribute("role", "alert");
    note.textContent = problem.message;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", note.id);
    control.insertAdjacentElement("afterend", note);
    const clear = () => {
      note.remove();
      control.removeAttribute("aria-invalid");
      control.removeAttribute("aria-describedby");
    };
    control.addEventListener("input", clear, { signal: listening.signal });
    control.addEventListener("change", clear, { signal: listening.signal });
    first = first || control;
    marked += 1;
  }
  if (first) {
    // Centred, not at the very top where a sticky page header would cover it.
    first.focus({ preventScroll: true });
    first.scrollIntoView({ block: "center" });
  }
  return marked;
}
