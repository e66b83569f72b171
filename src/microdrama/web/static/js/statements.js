// @ts-check
// Statements overview: earnings from the ledger, payout requests (Idempotency-Key per intent).

import { api, money, withIntent } from "./api.js";
import { amountText, busy, dateTime, notify, problem, say, statusBadge } from "./backoffice.js";
import { el, fields, slot } from "./dom.js";

const root = /** @type {HTMLElement} */ (document.querySelector("[data-testid=statements-page]"));
const base = root.dataset.api;
const form = /** @type {HTMLFormElement} */ (root.querySelector("[data-form=payout]"));

function show(summary) {
  const cards = summary.accounts.map((a) => el("article", { "data-testid": "earnings-card", "data-currency": a.currency },
    el("h3", {}, a.currency === "USD" ? "Dollars" : "Coins"),
    el("p", { class: "bo-figure", "data-testid": "earnings-available" }, amountText(a.available, a.currency)),
    el("p", { class: "bo-hint" }, `available · ${money(a.available_cents)} to pay out`),
    el("p", { class: "bo-hint" }, `balance ${amountText(a.balance, a.currency)} · held by pending requests ${amountText(a.pending, a.currency)}`)));
  slot("earnings", root).replaceChildren(...cards);
  slot("earnings-empty", root).hidden = cards.length > 0;
  slot("minimum", root).textContent = `The smallest payout is ${money(summary.minimum_payout_cents)}. Coins are paid at their value; a pending request holds its amount until an admin decides.`;
  slot("payouts", root).replaceChildren(...summary.payouts.map((p) => el("tr", { "data-testid": "payout-row", "data-status": p.status },
    el("td", {}, String(p.id)),
    el("td", {}, dateTime.format(new Date(p.created_at))),
    el("td", { class: "bo-num" }, amountText(p.amount, p.currency)),
    el("td", { class: "bo-num" }, money(p.amount_cents)),
    el("td", {}, statusBadge(p.status)),
    el("td", {}, p.rejection_reason || ""))));
}

async function refresh() {
  show(await api("GET", `${base}/earnings`));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = { currency: fields(form).currency.value, amount: Number(fields(form).amount.value) };
  busy(form.querySelector("button"), async () => {
    const payout = await withIntent(`payout:${base}:${body.currency}:${body.amount}`, (key) =>
      api("POST", `${base}/payouts`, { body, idempotencyKey: key }));
    notify(`Payout #${payout.id} requested: ${amountText(payout.amount, payout.currency)} (${money(payout.amount_cents)}).`);
    form.reset();
    await refresh();
  }, { form });
});

refresh().catch((error) => say("error", problem(error))).finally(() => root.setAttribute("aria-busy", "false"));
