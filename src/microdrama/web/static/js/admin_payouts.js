// @ts-check
// The operator's payout queue: approve / reject (with a reason) / mark paid.

import { api, money, showFormErrors, withIntent } from "./api.js";
import { amountText, dateTime, notify, problem, say, statusBadge } from "./backoffice.js";
import { el, slot } from "./dom.js";

const root = document.querySelector("[data-testid=admin-payouts-page]");
const filter = /** @type {HTMLSelectElement} */ (slot("filter", root));

async function decide(payout, action, body, cell = null) {
  try {
    const done = await withIntent(`payout:${payout.id}:${action}`, (key) =>
      api("POST", `/api/admin/payouts/${payout.id}/${action}`, { body, idempotencyKey: key }));
    notify(`Payout #${done.id} is now ${done.status}.`);
  } catch (error) {
    say("notice", "");
    // A refused reason is shown under its box; the list is kept so the box stays to fix.
    if (cell && showFormErrors(cell, error, { summary: (text) => say("error", text) })) return;
    say("error", problem(error));
  }
  await load();
}

function actions(payout) {
  const cell = el("td", { class: "bo-row" });
  if (payout.status === "pending") {
    const approve = el("button", { type: "button", class: "bo-primary", "data-testid": "payout-approve" }, "Approve");
    approve.addEventListener("click", () => decide(payout, "approve"));
    const reason = el("input", { type: "text", placeholder: "Reason to reject", maxlength: 300, "aria-label": "Reason", name: "reason", "data-testid": "payout-reason" });
    const reject = el("button", { type: "button", "data-testid": "payout-reject" }, "Reject");
    reject.addEventListener("click", () => {
      if (!reason.value.trim()) return say("error", "Give a reason to reject.");
      decide(payout, "reject", { reason: reason.value.trim() }, cell);
    });
    cell.append(approve, reason, reject);
  } else if (payout.status === "approved") {
    const paid = el("button", { type: "button", class: "bo-primary", "data-testid": "payout-paid" }, "Mark paid");
    paid.addEventListener("click", () => decide(payout, "paid"));
    cell.append(paid);
  } else if (payout.rejection_reason) {
    cell.append(payout.rejection_reason);
  }
  return cell;
}

let latestLoad = 0;

async function load() {
  // Only the newest answer is drawn: a slow reload after a decision must not overwrite the
  // list of a filter chosen since.
  const mine = ++latestLoad;
  const query = filter.value ? `?status=${filter.value}` : "";
  const payouts = await api("GET", `/api/admin/payouts${query}`);
  if (mine !== latestLoad) return;
  slot("rows", root).replaceChildren(...payouts.map((p) => el("tr", { "data-testid": "admin-payout-row", "data-id": p.id, "data-status": p.status },
    el("td", {}, String(p.id)),
    el("td", {}, `${p.account_name} (${p.account_role}${p.account_email ? `, ${p.account_email}` : ""})`),
    el("td", {}, dateTime.format(new Date(p.created_at))),
    el("td", { class: "bo-num" }, amountText(p.amount, p.currency)),
    el("td", { class: "bo-num" }, money(p.amount_cents)),
    el("td", {}, statusBadge(p.status)),
    actions(p))));
  slot("empty", root).hidden = payouts.length > 0;
}

filter.addEventListener("change", () => load().catch((error) => say("error", problem(error))));
load().catch((error) => say("error", problem(error))).finally(() => root.setAttribute("aria-busy", "false"));
