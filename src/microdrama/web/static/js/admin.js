// @ts-check
// The operator's page: coin packs and VIP plans (payments' upsert-by-code API), the creators'
// revenue share and the payout minimum (audited platform settings), and the monthly VIP share.

import { api, money } from "./api.js";
import { busy, dateTime, notify, problem, say } from "./backoffice.js";
import { el, fields, slot } from "./dom.js";

const root = document.querySelector("[data-testid=admin-page]");
const settingsForm = /** @type {HTMLFormElement} */ (root.querySelector("[data-form=settings]"));
const vipShareForm = /** @type {HTMLFormElement} */ (root.querySelector("[data-form=vip-share]"));

const PACK_FIELDS = [
  ["price_cents", "number", { min: 50 }],
  ["coins", "number", { min: 1 }],
  ["bonus_coins", "number", { min: 0 }],
  ["bonus_valid_days", "number", { min: 1 }],
  ["sort_order", "number", {}],
  ["active", "checkbox", {}],
];
const PLAN_FIELDS = [
  ["name", "text", { maxlength: 80 }],
  ["period_days", "number", { min: 1 }],
  ["price_cents", "number", { min: 50 }],
  ["sort_order", "number", {}],
  ["active", "checkbox", {}],
];

function input(name, type, extra, value) {
  const field = el("input", { name, type, "aria-label": name.replaceAll("_", " "), ...extra });
  if (type === "checkbox") field.checked = Boolean(value);
  else field.value = value ?? "";
  return field;
}

function read(row, fields) {
  const body = {};
  for (const [name, type] of fields) {
    const field = row.querySelector(`[name=${name}]`);
    body[name] = type === "checkbox" ? field.checked : type === "number" ? Number(field.value) : field.value.trim();
  }
  return body;
}

/** One editable row; a new row (item null) has a code input. */
function editRow(kind, fields, item) {
  const codeCell = item
    ? el("td", {}, el("code", {}, item.code))
    : el("td", {}, input("code", "text", { placeholder: "new code", pattern: "[a-z0-9][a-z0-9_-]{0,39}" }, ""));
  const row = el("tr", { "data-code": item?.code ?? "", "data-testid": `${kind}-row` }, codeCell);
  for (const [name, type, extra] of fields) {
    row.append(el("td", { class: type === "number" ? "bo-num" : "" }, input(name, type, extra, item ? item[name] : type === "checkbox" ? true : "")));
  }
  const save = el("button", { type: "button", "data-testid": `${kind}-save` }, item ? "Save" : "Add");
  save.addEventListener("click", () => busy(save, async () => {
    const code = item?.code ?? /** @type {HTMLInputElement} */ (row.querySelector("input[name=code]")).value.trim();
    const path = kind === "pack" ? "coin-packs" : "vip-plans";
    const saved = await api("PUT", `/api/admin/${path}/${encodeURIComponent(code)}`, { body: read(row, fields) });
    notify(kind === "pack"
      ? `Saved ${saved.code}: ${saved.coins} coins + ${saved.bonus_coins} bonus for ${money(saved.price_cents, saved.currency)}${saved.active ? "" : " (off sale)"}.`
      : `Saved ${saved.code}: ${saved.name}, ${money(saved.price_cents, saved.currency)} every ${saved.period_days} days${saved.active ? "" : " (off sale)"}.`);
    await loadStore();
  }, { form: row }));
  row.append(el("td", {}, save));
  return row;
}

async function loadStore() {
  const store = await api("GET", "/api/admin/store");
  slot("packs", root).replaceChildren(...store.coin_packs.map((p) => editRow("pack", PACK_FIELDS, p)), editRow("pack", PACK_FIELDS, null));
  slot("plans", root).replaceChildren(...store.vip_plans.map((p) => editRow("plan", PLAN_FIELDS, p)), editRow("plan", PLAN_FIELDS, null));
}

function showSettings(data) {
  for (const [name, value] of Object.entries(data.values)) settingsForm.elements[name].value = value;
  slot("defaults", root).textContent =
    `Defaults from the configuration: ${data.defaults.creator_revenue_share_percent} % share, ` +
    `${money(data.defaults.payout_minimum_cents)} minimum payout.`;
  slot("changes", root).replaceChildren(...data.changes.map((c) => el("tr", { "data-testid": "settings-change" },
    el("td", {}, dateTime.format(new Date(c.changed_at))),
    el("td", {}, c.changed_by),
    el("td", {}, c.key),
    el("td", { class: "bo-num" }, String(c.old_value ?? "")),
    el("td", { class: "bo-num" }, String(c.new_value)))));
}

settingsForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = Object.fromEntries([...new FormData(settingsForm)].map(([k, v]) => [k, Number(v)]));
  busy(settingsForm.querySelector("button"), async () => {
    showSettings(await api("PUT", "/api/admin/settings", { body }));
    notify("Settings saved.");
  }, { form: settingsForm });
});

async function loadVipShare(month) {
  const share = await api("GET", `/api/admin/vip-share/${encodeURIComponent(month)}`);
  const state = share.settled ? "settled" : share.month_over ? "not settled yet" : "so far (the month is not over)";
  slot("vip-share-summary", root).textContent =
    `${share.month}, ${state}: net VIP income ${money(share.vip_income_cents)} × ${share.share_percent} % = ` +
    `pool ${money(share.pool_cents)}.` + (share.note ? ` Nothing to share: ${share.note}.` : "");
  slot("vip-shares", root).replaceChildren(...share.shares.map((s) => el("tr", { "data-testid": "vip-share-row" },
    el("td", {}, s.title),
    el("td", {}, s.creator_name),
    el("td", { class: "bo-num" }, `${(s.watch_ms / 1000).toLocaleString()} s`),
    el("td", { class: "bo-num" }, money(s.amount_cents)),
    el("td", { class: "bo-num" }, s.transaction_id ? `#${s.transaction_id}` : "—"))));
}

vipShareForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await loadVipShare(fields(vipShareForm).month.value);
    say("error", "");
  } catch (error) {
    say("error", problem(error));
  }
});

// The month shown first: the previous one (UTC), the one housekeeping settles next.
const today = new Date();
const previous = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1));
fields(vipShareForm).month.value = previous.toISOString().slice(0, 7);

Promise.all([api("GET", "/api/admin/settings").then(showSettings), loadStore(), loadVipShare(fields(vipShareForm).month.value)])
  .catch((error) => say("error", problem(error)))
  .finally(() => root.setAttribute("aria-busy", "false"));
