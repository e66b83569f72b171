// @ts-check
// Shoppable episodes, viewer side: product cards over the playing episode and the product sheet.
//
// The episode's placements come from GET /api/episodes/{id}/placements (fetched once per episode,
// in parallel with its playlist; the next episode's are prefetched with it). A small scheduler
// (every animation frame while the page is visible, plus `timeupdate`) compares the video's clock
// with each placement's [start_ms, end_ms): the card slides in at its screen position (x/y per
// mille of the player) and slides out at the end, while the episode keeps playing. One tap opens
// the bottom sheet (image, title, price, variants, stock) over the still-playing video; "Shop this
// episode" in the side column lists every product of the episode. "Add to cart" adds the chosen
// variant (with the placement, for attribution) while the episode keeps playing; "Buy now" goes
// to the checkout page with just that item.

import { ApiError, api, money, plural } from "./api.js";
import { slot } from "./dom.js";

/**
 * Attribution: `impression` when a card is shown, `click` when the sheet opens for it, sent to
 * `POST /api/placements/{id}/events` with a fresh event id (a resent event counts once), as a
 * keepalive request so it survives leaving the page. Failures are ignored: watching never waits
 * on attribution.
 * @param {number} placementId
 * @param {"impression" | "click"} kind
 */
export function reportPlacementEvent(placementId, kind) {
  const eventId = `${kind}:${crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`}`.slice(0, 64);
  try {
    fetch(`/api/placements/${placementId}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ kind, event_id: eventId }),
      credentials: "same-origin",
      keepalive: true,
    }).catch(() => {});
  } catch {}
}

const SLIDE_MS = 220;

/**
 * @param {{ root: HTMLElement, current: () => { episodeId: number | null, video: HTMLVideoElement },
 *   onOpenChange?: (open: boolean) => void }} options
 */
export function createShop({ root, current, onOpenChange = () => {} }) {
  const layer = root.querySelector("#product-cards");
  const sheet = /** @type {HTMLElement} */ (root.querySelector("#product-sheet"));
  const shopButton = /** @type {HTMLButtonElement} */ (root.querySelector("#shop-button"));
  const cache = new Map(); // episode id -> Promise<placements[]>
  let episodeId = null;
  let placements = [];
  const cards = new Map(); // placement id -> element on screen
  const impressed = new Set(); // placement ids reported for this episode
  let sheetProduct = null;
  let sheetPlacementId = null; // where the product was found: the placement gets the attribution

  const state = {
    /** The current episode's placements, once loaded. */
    get placements() { return placements; },
    /** Placement ids whose card is on screen. */
    get visible() { return [...cards.keys()]; },
    /** placement id -> {at: performance.now(), currentTime} of when its card was last shown. */
    shown: {},
    get isOpen() { return !sheet.hidden; },
    get productId() { return sheet.hidden ? null : sheetProduct?.id ?? null; },
  };

  function placementsOf(id) {
    if (!cache.has(id)) {
      const request = api("GET", `/api/episodes/${id}/placements`).catch(() => {
        cache.delete(id); // try again next time
        return [];
      });
      cache.set(id, request);
    }
    return cache.get(id);
  }

  function products() {
    const seen = new Map();
    for (const p of placements) if (!seen.has(p.product.id)) seen.set(p.product.id, p);
    return [...seen.values()];
  }

  /** The episode on screen changed (or its first load): drop the old cards, fetch the new ones. */
  function setEpisode(id) {
    if (id === episodeId) return;
    episodeId = id;
    placements = [];
    impressed.clear();
    for (const placementId of [...cards.keys()]) hideCard(placementId, { instant: true });
    close();
    shopButton.hidden = true;
    placementsOf(id).then((list) => {
      if (episodeId !== id) return;
      placements = list;
      shopButton.hidden = list.length === 0;
      update();
    });
  }

  function showCard(placement, video) {
    const { product } = placement;
    const card = document.createElement("button");
    card.type = "button";
    card.className = "product-card";
    card.setAttribute("data-testid", "product-card");
    card.dataset.placementId = String(placement.id);
    card.setAttribute("aria-label", `${product.title}, ${price(product)}: see the product`);
    const x = placement.x_permille / 10;
    const y = placement.y_permille / 10; // of the safe area (.product-cards)
    card.style.left = `${x}%`;
    card.style.top = `${y}%`;
    card.style.setProperty("--shift-x", `${-x}%`);
    card.style.setProperty("--shift-y", `${-y}%`);
    card.innerHTML = `<span class="product-thumb"></span><span class="product-text">
      <span class="product-name"></span><b class="product-price"></b></span>`;
    fillImage(card.querySelector(".product-thumb"), product);
    card.querySelector(".product-name").textContent = product.title;
    card.querySelector(".product-price").textContent = price(product);
    card.addEventListener("click", (event) => {
      event.stopPropagation();
      reportPlacementEvent(placement.id, "click");
      sheetPlacementId = placement.id;
      open(product);
    });
    layer.append(card);
    cards.set(placement.id, card);
    requestAnimationFrame(() => card.classList.add("is-in"));
    state.shown[placement.id] = { at: performance.now(), currentTime: video.currentTime };
    if (!impressed.has(placement.id)) {
      impressed.add(placement.id);
      reportPlacementEvent(placement.id, "impression");
    }
  }

  function hideCard(placementId, { instant = false } = {}) {
    const card = cards.get(placementId);
    if (!card) return;
    cards.delete(placementId);
    card.classList.remove("is-in");
    card.classList.add("is-out");
    if (instant) card.remove();
    else setTimeout(() => card.remove(), SLIDE_MS);
  }

  /** Show exactly the cards whose time range holds the video's clock. */
  function update() {
    const { episodeId: onScreen, video } = current();
    if (!video || onScreen !== episodeId) return;
    const ms = video.currentTime * 1000;
    const hidden = root.dataset.state === "locked" || root.dataset.state === "error";
    for (const placement of placements) {
      const due = !hidden && ms >= placement.start_ms && ms < placement.end_ms;
      if (due && !cards.has(placement.id)) showCard(placement, video);
      else if (!due && cards.has(placement.id)) hideCard(placement.id);
    }
  }

  function loop() {
    if (placements.length) update();
    requestAnimationFrame(loop);
  }
  requestAnimationFrame(loop);

  // The sheet ------------------------------------------------------------------------------

  function price(product, variant = null) {
    return money(variant?.price_cents ?? product.price_cents, product.currency);
  }

  function fillImage(element, product) {
    element.replaceChildren();
    if (product.image_url) {
      const img = document.createElement("img");
      img.src = product.image_url;
      img.alt = "";
      img.loading = "lazy";
      element.append(img);
    }
  }

  function showList() {
    sheetProduct = null;
    slot("heading", sheet).textContent = "Shop this episode";
    slot("list-view", sheet).hidden = false;
    slot("product-view", sheet).hidden = true;
    const list = slot("list", sheet);
    list.replaceChildren();
    for (const { product } of products()) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "shop-item";
      button.setAttribute("data-testid", "shop-item");
      button.innerHTML = `<span class="product-thumb"></span><span class="product-text">
        <span class="product-name"></span><b class="product-price"></b></span>`;
      fillImage(button.querySelector(".product-thumb"), product);
      button.querySelector(".product-name").textContent = product.title;
      button.querySelector(".product-price").textContent = price(product);
      button.addEventListener("click", () => {
        const placement = placements.find((p) => p.product.id === product.id);
        if (placement) reportPlacementEvent(placement.id, "click");
        sheetPlacementId = placement ? placement.id : null;
        showProduct(product, { fromList: true });
      });
      item.append(button);
      list.append(item);
    }
  }

  function showProduct(product, { fromList = false } = {}) {
    sheetProduct = product;
    slot("heading", sheet).textContent = "Seen in this episode";
    slot("list-view", sheet).hidden = true;
    slot("product-view", sheet).hidden = false;
    slot("back", sheet).hidden = !fromList;
    fillImage(slot("image", sheet), product);
    slot("title", sheet).textContent = product.title;
    const variants = product.variants || [];
    const firstInStock = variants.find((v) => v.in_stock) || null;
    const fieldset = slot("variants", sheet);
    fieldset.hidden = variants.length === 0;
    const options = slot("variant-options", sheet);
    options.replaceChildren();
    for (const variant of variants) {
      const label = document.createElement("label");
      label.className = "variant";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "variant";
      input.value = String(variant.id);
      input.disabled = !variant.in_stock;
      input.checked = variant === firstInStock;
      input.addEventListener("change", () => showVariant(product, variant));
      const name = document.createElement("span");
      name.textContent = variant.name;
      label.append(input, name);
      if (!variant.in_stock) {
        const small = document.createElement("small");
        small.textContent = "Sold out";
        label.append(small);
      }
      options.append(label);
    }
    showVariant(product, firstInStock, variants.length > 0);
  }

  function showVariant(product, variant, hasVariants = true) {
    slot("price", sheet).textContent = price(product, variant);
    const inStock = hasVariants ? variant !== null && variant.in_stock : true;
    const stock = slot("stock", sheet);
    stock.textContent = inStock ? "In stock" : "Out of stock";
    stock.dataset.inStock = String(inStock);
    const canBuy = inStock && variant !== null;
    addButton.disabled = !canBuy;
    buyButton.disabled = !canBuy;
    note("");
  }

  // Buying -----------------------------------------------------------------------------------

  const addButton = /** @type {HTMLButtonElement} */ (sheet.querySelector("[data-action=add-to-cart]"));
  const buyButton = /** @type {HTMLButtonElement} */ (sheet.querySelector("[data-action=buy-now]"));

  function chosenVariantId() {
    const checked = /** @type {HTMLInputElement} */ (slot("variant-options", sheet).querySelector("input:checked"));
    return checked ? Number(checked.value) : null;
  }

  function note(text, { error = false, link = null } = {}) {
    const element = slot("note", sheet);
    element.replaceChildren();
    element.hidden = !text;
    element.dataset.error = String(error);
    if (!text) return;
    element.append(text);
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link.href;
      anchor.textContent = link.text;
      element.append(" ", anchor);
    }
  }

  async function addToCart() {
    const variantId = chosenVariantId();
    if (variantId === null) return;
    addButton.disabled = true;
    try {
      const body = { variant_id: variantId, quantity: 1 };
      if (sheetPlacementId !== null) body.placement_id = sheetPlacementId;
      const cart = await api("POST", "/api/cart/items", { body });
      const count = cart.items.reduce((n, item) => n + item.quantity, 0);
      note(`Added to your cart (${plural(count, "item")}).`, {
        link: { href: "/cart", text: "View cart" },
      });
    } catch (error) {
      note(error instanceof ApiError ? error.message : "Could not add it. Try again.", { error: true });
    } finally {
      addButton.disabled = false;
    }
  }

  function buyNow() {
    const variantId = chosenVariantId();
    if (variantId === null) return;
    const query = new URLSearchParams({ variant: String(variantId), back: location.pathname });
    if (sheetPlacementId !== null) query.set("placement", String(sheetPlacementId));
    location.assign(`/checkout?${query}`);
  }

  addButton.addEventListener("click", addToCart);
  buyButton.addEventListener("click", buyNow);

  function open(product = null) {
    if (product) showProduct(product);
    else showList();
    const wasOpen = !sheet.hidden;
    sheet.hidden = false;
    if (!wasOpen) onOpenChange(true);
    /** @type {HTMLButtonElement} */ (sheet.querySelector("[data-action=close]")).focus({ preventScroll: true });
  }

  function close() {
    if (sheet.hidden) return;
    sheet.hidden = true;
    sheetProduct = null;
    sheetPlacementId = null;
    onOpenChange(false);
  }

  sheet.querySelector("[data-action=close]").addEventListener("click", close);
  slot("back", sheet).addEventListener("click", showList);
  shopButton.addEventListener("click", () => (sheet.hidden ? open() : close()));

  return {
    state,
    setEpisode,
    /** Fetch an episode's placements ahead of time (the next episode, with its playlist). */
    prefetch: (id) => { if (id) placementsOf(id); },
    update,
    close,
  };
}
