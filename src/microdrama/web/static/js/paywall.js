// @ts-check
// The paywall sheet: every way to get a locked episode, over the player's last frame.
//
// The price in coins and money, the balance, "Unlock for N coins", the rest of the series at
// the cap price, VIP plans, coin packs (through the payment provider's checkout page and
// back), "watch an ad", and the auto-unlock switch. Money-moving calls carry an idempotency
// key per intended action (reused when the same action is retried after an unclear outcome).

import { analytics } from "./analytics.js";
import {
  api,
  checkout,
  coinPrice,
  coins,
  explain,
  formatNumber,
  money,
  period,
  plural,
  settledPurchase,
  showBalance,
  withIntent,
} from "./api.js";
import { attachStream } from "./media.js";
import { el, slot } from "./dom.js";

/**
 * `onUnlocked(episodeIds, episode)` is called when the viewer may now play `episode` (and the
 * other ids): the player marks them playable and starts the episode.
 */
/**
 * @param {{ root: HTMLElement, series: any, episodes: any[],
 *   onUnlocked: (episodeIds: number[], episode: any) => void,
 *   onOpenChange?: (open: boolean) => void }} options
 */
export function createPaywall({ root, series, episodes, onUnlocked, onOpenChange = () => {} }) {
  const sheet = /** @type {HTMLElement} */ (root.querySelector("#paywall"));
  /** @param {string} name @returns {HTMLButtonElement & HTMLInputElement} the button (or the auto-unlock switch) */
  const button = (name) => sheet.querySelector(`[data-action="${name}"]`);
  const toastElement = /** @type {HTMLElement} */ (root.querySelector("#toast"));
  const adPlayer = /** @type {HTMLElement} */ (root.querySelector("#ad-player"));
  const adVideo = /** @type {HTMLVideoElement} */ (root.querySelector("#ad-video"));
  let store = null;
  let current = null; // {episode, access}
  let busy = false;
  let toastTimer = 0;

  const state = {
    /** performance.now() of the last tap on an unlock button (for time-to-first-frame). */
    unlockTappedAt: null,
    get isOpen() { return !sheet.hidden; },
    get episodeId() { return current?.episode.id ?? null; },
  };

  function loadStore() {
    store ??= api("GET", "/api/store").catch((error) => {
      store = null;
      throw error;
    });
    return store;
  }

  const access = (episode) => api("GET", `/api/episodes/${episode.id}/access`);

  function say(name, text) {
    const element = slot(name, sheet);
    element.textContent = text || "";
    element.hidden = !text;
  }

  function setBusy(value) {
    busy = value;
    sheet.setAttribute("aria-busy", String(value));
    for (const element of /** @type {NodeListOf<HTMLButtonElement>} */ (sheet.querySelectorAll("button[data-action]:not([data-action=close]), .packs button, .plans button"))) {
      element.disabled = value || element.dataset.unaffordable === "true";
    }
  }

  function render(episode, a) {
    current = { episode, access: a };
    const short = Math.max(0, a.price_coins - a.balance_coins);
    slot("number", sheet).textContent = String(episode.number);
    slot("price", sheet).textContent = coinPrice(a.price_coins, a.price_cents);
    slot("balance", sheet).textContent = coins(a.balance_coins);
    showBalance(a.balance_coins);

    const unlock = button("unlock");
    unlock.hidden = short > 0;
    unlock.textContent = `Unlock for ${coins(a.price_coins)}`;

    const rest = a.rest_of_series;
    const restButton = button("unlock-rest");
    restButton.hidden = !(rest && rest.episodes > 1);
    if (!restButton.hidden) {
      const saving = rest.sum_coins - rest.cap_price_coins;
      const need = rest.cap_price_coins - a.balance_coins;
      slot("rest-label", sheet).textContent =
        `Unlock all ${plural(rest.episodes, "remaining episode")} for ${coinPrice(rest.cap_price_coins, rest.cap_price_cents)}`;
      slot("rest-save", sheet).textContent = [
        saving > 0 ? `save ${coins(saving)}` : "",
        need > 0 ? `you need ${formatNumber(need)} more` : "",
      ].filter(Boolean).join(" · ");
      restButton.dataset.unaffordable = String(need > 0);
    }

    const adButton = button("ad");
    const adsLeft = a.ads_left_today;
    adButton.hidden = false;
    if (typeof adsLeft === "number") {
      slot("ads-left", sheet).textContent = adsLeft > 0 ? `${adsLeft} left today` : "none left today";
      adButton.dataset.unaffordable = String(adsLeft <= 0);
    }

    slot("packs-heading", sheet).textContent = short > 0
      ? `You need ${plural(short, "more coin")} — get a coin pack`
      : "Get more coins";
    sheet.classList.toggle("is-short", short > 0);
    button("auto-unlock").checked = Boolean(a.auto_unlock);
    setBusy(busy);
    renderStore();
  }

  async function renderStore() {
    let catalog;
    try {
      catalog = await loadStore();
    } catch {
      return; // the sheet still offers what needs no store
    }
    const returnTo = `/watch/${current.episode.id}`;
    const packs = slot("packs", sheet);
    packs.replaceChildren(...catalog.coin_packs.map((pack) => {
      const bonus = pack.bonus_coins ? ` plus ${formatNumber(pack.bonus_coins)} bonus` : "";
      return el("li", {}, el("button", {
        type: "button",
        class: "pack",
        "data-testid": "coin-pack",
        "aria-label": `Buy ${coins(pack.coins)}${bonus} for ${money(pack.price_cents, pack.currency)}`,
        onclick: () => startCheckout({ coin_pack: pack.code }, returnTo),
      },
      el("b", { text: formatNumber(pack.coins) }),
      el("small", { text: pack.bonus_coins ? `+${formatNumber(pack.bonus_coins)} bonus` : "coins" }),
      el("span", { text: money(pack.price_cents, pack.currency) })));
    }));
    const plans = slot("plans", sheet);
    plans.closest("section").hidden = catalog.vip_plans.length === 0;
    plans.replaceChildren(...catalog.vip_plans.map((plan) => el("li", {}, el("button", {
      type: "button",
      class: "plan",
      "data-testid": "vip-plan",
      "aria-label": `Buy ${plan.name} for ${money(plan.price_cents, plan.currency)}`,
      onclick: () => startCheckout({ vip_plan: plan.code }, returnTo),
    },
    el("b", { text: plan.name.replace(/^VIP\s+/, "") }),
    el("span", { text: `${money(plan.price_cents, plan.currency)} / ${period(plan.period_days)}` })))));
    setBusy(busy);
  }

  async function startCheckout(product, returnTo) {
    if (busy) return;
    say("error", "");
    setBusy(true);
    try {
      await checkout(product, returnTo); // navigates to the checkout page
    } catch (error) {
      say("error", explain(error));
      setBusy(false);
    }
  }

  function open(episode, a) {
    render(episode, a);
    if (sheet.hidden) {
      analytics.paywallShown(episode.id);
      say("error", "");
      say("notice", "");
      sheet.hidden = false;
      onOpenChange(true);
      (button("unlock").hidden ? /** @type {HTMLButtonElement} */ (sheet.querySelector(".packs button, [data-action=close]")) : button("unlock"))
        ?.focus({ preventScroll: true });
    }
  }

  function close() {
    if (sheet.hidden) return;
    sheet.hidden = true;
    onOpenChange(false);
  }

  function toast(text) {
    toastElement.textContent = text;
    toastElement.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastElement.hidden = true; }, 3500);
  }

  async function unlockOne(episode) {
    const result = await withIntent(`unlock:${episode.id}`, (key) =>
      api("POST", `/api/episodes/${episode.id}/unlock`, { body: { method: "coins" }, idempotencyKey: key }),
    );
    showBalance(result.balance_coins);
    return result;
  }

  async function act(work) {
    if (busy || !current) return;
    const { episode } = current;
    state.unlockTappedAt = performance.now();
    say("error", "");
    setBusy(true);
    try {
      const ids = await work(episode);
      close();
      analytics.unlocked(episode.id);
      onUnlocked(ids, episode);
    } catch (error) {
      say("error", explain(error));
      if (error.code === "insufficient_coins" || error.code === "spend_limit_reached") {
        access(episode).then((a) => render(episode, a)).catch(() => {});
      }
    } finally {
      setBusy(false);
    }
  }

  button("unlock").addEventListener("click", () => act(async (episode) => {
    await unlockOne(episode);
    return [episode.id];
  }));

  button("unlock-rest").addEventListener("click", () => act(async (episode) => {
    const result = await withIntent(`unlock-rest:${series.id}:${episode.number}`, (key) =>
      api("POST", `/api/series/${series.id}/unlock-rest?from_number=${episode.number}`, { idempotencyKey: key }),
    );
    showBalance(result.balance_coins);
    return episodes.filter((e) => e.number >= episode.number).map((e) => e.id);
  }));

  button("ad").addEventListener("click", () => act(async (episode) => {
    const session = await api("POST", "/api/ads/sessions", { body: { episode_id: episode.id } });
    await playAd(session);
    const complete = () => api("POST", `/api/ads/sessions/${encodeURIComponent(session.ad_session)}/complete`);
    let grant;
    try {
      grant = await complete();
    } catch (error) {
      // The server counts the ad's length from when it started: a stalled start can finish early.
      if (error.code !== "ad_not_finished") throw error;
      await new Promise((resolve) => setTimeout(resolve, (error.body.remaining_ms || 0) + 200));
      grant = await complete();
    }
    if (!grant.granted && grant.reason === "locked") throw new Error("The ad did not unlock the episode.");
    toast(`Unlocked episode ${episode.number} · thanks for watching`);
    return [episode.id];
  }));

  button("close").addEventListener("click", close);

  button("auto-unlock").addEventListener("change", async (event) => {
    const toggle = /** @type {HTMLInputElement} */ (event.target);
    const wanted = toggle.checked;
    say("error", "");
    try {
      const me = await api("PATCH", "/api/me/settings", { body: { auto_unlock: wanted } });
      toggle.checked = me.auto_unlock;
      if (current) current.access.auto_unlock = me.auto_unlock;
      toast(me.auto_unlock ? "Auto-unlock is on: the next episodes unlock as you watch" : "Auto-unlock is off");
    } catch (error) {
      toggle.checked = !wanted;
      say("error", explain(error));
    }
  });

  sheet.addEventListener("keydown", (event) => {
    if (/** @type {KeyboardEvent} */ (event).key === "Escape") {
      event.stopPropagation();
      close();
    }
  });

  /** The built-in ad, full screen, with a countdown and no skip. Resolves when it has ended. */
  function playAd(session) {
    const countdown = slot("countdown", adPlayer);
    const bar = slot("bar", adPlayer);
    const seconds = (session.duration_ms || 15000) / 1000;
    adPlayer.hidden = false;
    return new Promise((resolve, reject) => {
      let stream = null;
      const finish = (error) => {
        adVideo.removeEventListener("timeupdate", tick);
        adVideo.removeEventListener("ended", ended);
        adVideo.removeEventListener("error", failed);
        stream?.destroy();
        adVideo.removeAttribute("src");
        adVideo.load();
        adPlayer.hidden = true;
        if (error) reject(error);
        else resolve();
      };
      const tick = () => {
        const total = adVideo.duration || seconds;
        const left = Math.max(0, Math.ceil(total - adVideo.currentTime));
        countdown.textContent = left > 0 ? `Reward in ${left} s` : "Unlocking…";
        bar.style.width = `${Math.min(100, (100 * adVideo.currentTime) / total)}%`;
      };
      const ended = () => finish();
      const failed = () => finish(new Error("The ad could not be played. Please try again."));
      adVideo.addEventListener("timeupdate", tick);
      adVideo.addEventListener("ended", ended);
      adVideo.addEventListener("error", failed);
      countdown.textContent = `Reward in ${Math.ceil(seconds)} s`;
      bar.style.width = "0%";
      const start = () => adVideo.play().catch(() => {
        adVideo.muted = true; // sound refused: the ad still plays
        return adVideo.play();
      }).catch(failed);
      if (/\.m3u8(\?|$)/.test(session.ad_url)) {
        attachStream(adVideo, session.ad_url, { onFatal: failed }).then((s) => {
          stream = s;
          start();
        });
      } else {
        adVideo.src = session.ad_url;
        start();
      }
    });
  }

  return {
    state,
    open,
    close,
    toast,

    /**
     * Before playing a paid episode: true when the viewer may play it now (entitled, or
     * auto-unlocked because `sequential` and the switch is on); otherwise the sheet opens.
     */
    async gate(episode, { sequential = false } = {}) {
      let a;
      try {
        a = await access(episode);
      } catch (error) {
        if (error.status === 404) return false;
        return true; // let the player try: the playlist route has the final word
      }
      if (a.allowed) return true;
      if (sequential && a.auto_unlock && a.balance_coins >= a.price_coins) {
        state.unlockTappedAt = performance.now();
        try {
          const result = await unlockOne(episode);
          analytics.unlocked(episode.id);
          toast(`Unlocked episode ${episode.number} · ${coins(result.charged_coins || a.price_coins)}`);
          return true;
        } catch (error) {
          open(episode, a);
          say("error", explain(error));
          return false;
        }
      }
      loadStore().catch(() => {});
      open(episode, a);
      return false;
    },

    /** Back from the checkout page with ?purchase=ID: wait for the outcome, then offer to unlock. */
    async resumePurchase(purchaseId, episode) {
      let a = await access(episode);
      open(episode, a);
      say("notice", "Confirming your payment…");
      setBusy(true);
      let purchase;
      try {
        purchase = await settledPurchase(purchaseId);
      } catch (error) {
        setBusy(false);
        say("notice", "");
        say("error", explain(error));
        return false;
      }
      a = await access(episode);
      setBusy(false);
      render(episode, a);
      if (purchase.status === "paid") {
        if (a.allowed) {
          close();
          toast(purchase.kind === "vip" ? "VIP is active: enjoy every episode" : "Payment received");
          return true;
        }
        const bonus = purchase.bonus_coins ? ` + ${formatNumber(purchase.bonus_coins)} bonus` : "";
        say("notice", `Payment received: ${coins(purchase.coins)}${bonus} added. Ready to unlock.`);
        button("unlock").focus({ preventScroll: true });
      } else if (purchase.status === "failed") {
        say("notice", "");
        say("error", `Your payment did not go through${purchase.failure_reason ? `: ${purchase.failure_reason}` : ""}. Nothing was charged.`);
      } else {
        say("notice", "Your payment is still being confirmed; your coins will appear in your wallet shortly.");
      }
      return false;
    },
  };
}
