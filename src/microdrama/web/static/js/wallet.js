// @ts-check
// The wallet page: balance, daily check-in, spend limit, coin packs, VIP and history.

import { api, checkout, coins, explain, formatNumber, money, period, settledPurchase, showBalance } from "./api.js";
import { slot } from "./dom.js";

const root = document.querySelector("[data-testid=wallet-page]");
/** @param {string} name @returns {HTMLButtonElement} */
const action = (name) => root.querySelector(`[data-action="${name}"]`);
const HISTORY_PAGE = 50;
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", hour: "numeric", minute: "2-digit" });
let oldestId = null;

function say(name, text) {
  const element = slot(name, root);
  element.textContent = text || "";
  element.hidden = !text;
}

const signed = (n) => (n > 0 ? `+${formatNumber(n)}` : n < 0 ? `−${formatNumber(-n)}` : "0");

function showWallet(wallet) {
  showBalance(wallet.total_coins);
  showCheckin(wallet.checked_in_today);
  slot("paid", root).textContent = formatNumber(wallet.paid_coins);
  slot("bonus", root).textContent = formatNumber(wallet.bonus_coins);
  slot("expiring", root).replaceChildren(...wallet.bonus_expiring.map((lot) => {
    const item = document.createElement("li");
    item.textContent = `${coins(lot.coins)} of bonus expire on ${dateFormat.format(new Date(lot.expires_at))}`;
    return item;
  }));
  const limit = wallet.weekly_spend_limit_coins;
  const bar = slot("limit-bar", root);
  if (limit === null || limit === undefined) {
    slot("limit-text", root).textContent = `No limit set · ${coins(wallet.spent_this_week_coins)} spent in the last 7 days`;
    bar.hidden = true;
  } else {
    const left = Math.max(0, limit - wallet.spent_this_week_coins);
    slot("limit-text", root).textContent =
      `${formatNumber(wallet.spent_this_week_coins)} of ${coins(limit)} spent in the last 7 days · ${formatNumber(left)} left`;
    bar.hidden = false;
    bar.querySelector("span").style.width = `${Math.min(100, (100 * wallet.spent_this_week_coins) / (limit || 1))}%`;
  }
}

function tile(className, testid, label, parts, onClick) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  button.setAttribute("data-testid", testid);
  button.setAttribute("aria-label", label);
  for (const [tag, text] of parts) {
    const part = document.createElement(tag);
    part.textContent = text;
    button.append(part);
  }
  button.addEventListener("click", onClick);
  item.append(button);
  return item;
}

async function buy(product) {
  say("error", "");
  try {
    await checkout(product, "/wallet");
  } catch (error) {
    say("error", explain(error));
  }
}

function showStore(store, vip) {
  slot("packs", root).replaceChildren(...store.coin_packs.map((pack) => tile(
    "pack", "coin-pack",
    `Buy ${coins(pack.coins)}${pack.bonus_coins ? ` plus ${formatNumber(pack.bonus_coins)} bonus` : ""} for ${money(pack.price_cents, pack.currency)}`,
    [["b", formatNumber(pack.coins)], ["small", pack.bonus_coins ? `+${formatNumber(pack.bonus_coins)} bonus` : "coins"],
      ["span", money(pack.price_cents, pack.currency)]],
    () => buy({ coin_pack: pack.code }),
  )));
  if (vip.active) {
    const until = vip.ends_at ? dateFormat.format(new Date(vip.ends_at)) : "";
    slot("vip-text", root).textContent =
      `${vip.plan_name || "VIP"} is active${until ? ` until ${until}` : ""}${vip.auto_renew ? " · renews automatically" : ""}.`;
    slot("plans", root).replaceChildren();
    return;
  }
  slot("vip-text", root).textContent = "Every episode of every series, no ads.";
  slot("plans", root).replaceChildren(...store.vip_plans.map((plan) => tile(
    "plan", "vip-plan", `Buy ${plan.name} for ${money(plan.price_cents, plan.currency)}`,
    [["b", plan.name.replace(/^VIP\s+/, "")], ["span", `${money(plan.price_cents, plan.currency)} / ${period(plan.period_days)}`]],
    () => buy({ vip_plan: plan.code }),
  )));
}

function historyRow(item) {
  const row = document.createElement("li");
  row.className = `history-row kind-${item.kind}`;
  row.setAttribute("data-testid", "history-row");
  row.dataset.kind = item.kind;
  const coinsDelta = item.paid_coins + item.bonus_coins;
  const what = document.createElement("div");
  what.className = "history-what";
  const title = document.createElement("b");
  title.textContent = item.memo || item.label;
  const when = document.createElement("small");
  when.textContent = `${item.label} · ${timeFormat.format(new Date(item.created_at))}`;
  what.append(title, when);
  const amounts = document.createElement("div");
  amounts.className = "history-amounts";
  const delta = document.createElement("b");
  delta.className = coinsDelta > 0 ? "plus" : coinsDelta < 0 ? "minus" : "";
  delta.textContent = coinsDelta ? `${signed(coinsDelta)} ${Math.abs(coinsDelta) === 1 ? "coin" : "coins"}` : "";
  if (item.kind === "ad_unlock") delta.textContent = "free"; // paid for by watching the ad
  amounts.append(delta);
  if (item.bonus_coins && item.paid_coins) {
    const split = document.createElement("small");
    split.textContent = `${signed(item.paid_coins)} paid · ${signed(item.bonus_coins)} bonus`;
    amounts.append(split);
  } else if (item.bonus_coins) {
    const split = document.createElement("small");
    split.textContent = "bonus coins";
    amounts.append(split);
  }
  if (item.amount_cents) {
    const cash = document.createElement("small");
    const refunded = item.kind === "refund";
    cash.textContent = `${refunded ? "refunded" : "paid"} ${money(item.amount_cents)}`;
    amounts.append(cash);
  }
  row.append(what, amounts);
  return row;
}

async function loadHistory({ more = false } = {}) {
  const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (more && oldestId) query.set("before", String(oldestId));
  const { items } = await api("GET", `/api/wallet/history?${query}`);
  const list = slot("history", root);
  if (!more) list.replaceChildren();
  list.append(...items.map(historyRow));
  if (items.length) oldestId = items[items.length - 1].id;
  slot("history-empty", root).hidden = list.children.length > 0;
  action("more").hidden = items.length < HISTORY_PAGE;
}

async function refresh() {
  const [wallet, store, vip] = await Promise.all([
    api("GET", "/api/wallet"), api("GET", "/api/store"), api("GET", "/api/vip"), loadHistory(),
  ]);
  showWallet(wallet);
  showStore(store, vip);
}

/** Today's check-in as the server knows it (null: not yet), the same on every device. */
function showCheckin(today) {
  const button = action("checkin");
  button.disabled = Boolean(today);
  button.textContent = today ? "Checked in" : "Check in";
  slot("checkin-text", root).textContent = today
    ? `Checked in today (+${coins(today.coins)}) · ${today.streak}-day streak. Come back tomorrow.`
    : "Free bonus coins every day; come back tomorrow to grow your streak.";
}

action("checkin").addEventListener("click", async () => {
  say("error", "");
  action("checkin").disabled = true;
  try {
    const result = await api("POST", "/api/wallet/checkin");
    showCheckin(result);
    showBalance(result.balance_coins);
    await refresh();
  } catch (error) {
    action("checkin").disabled = false;
    say("error", explain(error));
  }
});

action("more").addEventListener("click", () => loadHistory({ more: true }).catch((error) => say("error", explain(error))));

async function main() {
  const purchaseId = new URLSearchParams(location.search).get("purchase");
  if (purchaseId) {
    history.replaceState(null, "", "/wallet");
    say("notice", "Confirming your payment…");
    const purchase = await settledPurchase(purchaseId);
    if (purchase.status === "paid") {
      say("notice", purchase.kind === "vip"
        ? "Payment received: VIP is active."
        : `Payment received: ${coins(purchase.coins + purchase.bonus_coins)} added.`);
    } else if (purchase.status === "failed") {
      say("notice", "");
      say("error", `Your payment did not go through${purchase.failure_reason ? `: ${purchase.failure_reason}` : ""}. Nothing was charged.`);
    } else {
      say("notice", "Your payment is still being confirmed; your coins will appear shortly.");
    }
  }
  await refresh();
}

main()
  .catch((error) => say("error", explain(error)))
  .finally(() => root.setAttribute("aria-busy", "false"));
