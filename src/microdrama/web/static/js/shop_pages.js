// @ts-check
// The viewer's shop pages: the cart (quantities, remove, checkout per brand), the checkout's
// shipping form (then the payment provider's page), the orders list and one order, which
// waits for the payment's confirmation right after checkout.

import { ApiError, api, clearFormErrors, money, showFormErrors, withIntent } from "./api.js";
import { slot } from "./dom.js";

const main = /** @type {HTMLElement} */ (document.querySelector("main[data-page]"));

function showError(error) {
  const element = slot("error", main);
  element.textContent = error ? (error instanceof ApiError ? error.message : String(error)) : "";
  element.hidden = !error;
}

function thumb(imageUrl) {
  const span = document.createElement("span");
  span.className = "thumb";
  if (imageUrl) {
    const img = document.createElement("img");
    img.src = imageUrl;
    img.alt = "";
    span.append(img);
  }
  return span;
}

function textLine(name, sub) {
  const span = document.createElement("span");
  const b = document.createElement("span");
  b.className = "name";
  b.textContent = name;
  const small = document.createElement("span");
  small.className = "sub";
  small.textContent = sub;
  span.append(b, document.createElement("br"), small);
  return span;
}

function priceCell(text) {
  const span = document.createElement("span");
  span.className = "price";
  span.textContent = text;
  return span;
}

const STATUS_TEXT = {
  pending_payment: "Waiting for payment",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
  refunded: "Refunded",
};

function statusBadge(element, status) {
  element.textContent = STATUS_TEXT[status] || status;
  element.dataset.status = status;
}

function when(iso) {
  return new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

// The cart ------------------------------------------------------------------------------------

async function renderCart(cart) {
  const groups = slot("groups", main);
  groups.replaceChildren();
  slot("empty", main).hidden = cart.items.length > 0;
  const brands = new Map();
  for (const item of cart.items) {
    if (!brands.has(item.brand_id)) brands.set(item.brand_id, { name: item.brand_name, items: [] });
    brands.get(item.brand_id).items.push(item);
  }
  for (const [brandId, { name, items }] of brands) {
    const panel = document.createElement("section");
    panel.className = "panel";
    panel.setAttribute("aria-label", `From ${name}`);
    const list = document.createElement("ul");
    list.className = "lines";
    for (const item of items) {
      const li = document.createElement("li");
      li.className = "line";
      li.setAttribute("data-testid", "cart-item");
      const text = textLine(item.product_title, `${item.variant_name} · ${money(item.unit_price_cents, item.currency)}`);
      const qty = document.createElement("span");
      qty.className = "qty";
      const less = document.createElement("button");
      less.type = "button";
      less.textContent = "−";
      less.setAttribute("aria-label", `One less ${item.product_title}`);
      less.disabled = item.quantity <= 1;
      const count = document.createElement("b");
      count.textContent = String(item.quantity);
      count.setAttribute("data-testid", "cart-quantity");
      const more = document.createElement("button");
      more.type = "button";
      more.textContent = "+";
      more.setAttribute("aria-label", `One more ${item.product_title}`);
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "remove";
      remove.textContent = "Remove";
      qty.append(less, count, more, remove);
      text.append(qty);
      if (!item.in_stock) {
        const sold = document.createElement("span");
        sold.className = "sub";
        sold.textContent = " · not enough in stock";
        text.append(sold);
      }
      const change = (call) => async () => {
        showError(null);
        try {
          await renderCart(await call());
        } catch (error) {
          showError(error);
        }
      };
      less.addEventListener("click", change(() => api("PATCH", `/api/cart/items/${item.id}`, { body: { quantity: item.quantity - 1 } })));
      more.addEventListener("click", change(() => api("PATCH", `/api/cart/items/${item.id}`, { body: { quantity: item.quantity + 1 } })));
      remove.addEventListener("click", change(() => api("DELETE", `/api/cart/items/${item.id}`)));
      li.append(thumb(item.image_url), text, priceCell(money(item.unit_price_cents * item.quantity, item.currency)));
      list.append(li);
    }
    const total = items.reduce((sum, item) => sum + item.unit_price_cents * item.quantity, 0);
    const line = document.createElement("p");
    line.className = "total";
    line.innerHTML = "<span></span><span></span>";
    line.children[0].textContent = brands.size > 1 ? `From ${name}` : "Total";
    line.children[1].textContent = money(total, cart.currency);
    const go = document.createElement("a");
    go.className = "cta wide";
    go.href = brands.size > 1 ? `/checkout?brand=${brandId}` : "/checkout";
    go.textContent = "Checkout";
    go.setAttribute("data-testid", "cart-checkout");
    panel.append(list, line, go);
    groups.append(panel);
  }
}

async function cartPage() {
  try {
    await renderCart(await api("GET", "/api/cart"));
  } catch (error) {
    showError(error);
  }
  slot("cart", main).removeAttribute("aria-busy");
}

// Checkout ------------------------------------------------------------------------------------

const ADDRESS_KEY = "md_shipping_address";

function checkoutPage() {
  const form = /** @type {HTMLFormElement} */ (slot("shipping", main));
  if (!form) return;
  try {
    const saved = JSON.parse(localStorage.getItem(ADDRESS_KEY) || "null");
    if (saved) for (const [name, value] of Object.entries(saved)) if (form.elements[name]) form.elements[name].value = value;
  } catch {}
  const buyNow = JSON.parse(main.dataset.buyNow || "null");
  const brandId = main.dataset.brandId ? Number(main.dataset.brandId) : null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    clearFormErrors(form);
    const shipping = Object.fromEntries(new FormData(form).entries());
    shipping.country = String(shipping.country || "").trim().toUpperCase();
    const body = { shipping };
    if (buyNow) {
      const item = { variant_id: buyNow.variant_id, quantity: 1 };
      if (buyNow.placement_id) item.placement_id = buyNow.placement_id;
      body.items = [item];
    } else if (brandId) {
      body.brand_id = brandId;
    }
    const button = /** @type {HTMLButtonElement} */ (form.querySelector("[type=submit]"));
    button.disabled = true;
    try {
      const started = await withIntent(`checkout:${JSON.stringify(body)}`, (key) =>
        api("POST", "/api/checkout", { body, idempotencyKey: key }),
      );
      try { localStorage.setItem(ADDRESS_KEY, JSON.stringify(shipping)); } catch {}
      location.assign(started.checkout_url);
    } catch (error) {
      button.disabled = false;
      // "shipping.name" is the Full name box: each problem under its box, the summary on top.
      showFormErrors(form, error, { summary: (text) => showError(text || null) });
    }
  });
}

// Orders --------------------------------------------------------------------------------------

async function ordersPage() {
  const list = slot("list", main);
  try {
    const orders = await api("GET", "/api/orders");
    slot("empty", main).hidden = orders.length > 0;
    for (const order of orders) {
      const li = document.createElement("li");
      li.className = "panel";
      li.setAttribute("data-testid", "order-row");
      const link = document.createElement("a");
      link.className = "order-link";
      link.href = `/orders/${order.id}`;
      const count = order.items.reduce((n, item) => n + item.quantity, 0);
      const text = textLine(`Order #${order.id} · ${money(order.total_cents, order.currency)}`,
        `${count} item${count === 1 ? "" : "s"} from ${order.brand_name} · ${when(order.created_at)}`);
      const badge = document.createElement("span");
      badge.className = "status";
      badge.setAttribute("data-testid", "order-status");
      statusBadge(badge, order.status);
      link.append(text, badge);
      li.append(link);
      list.append(li);
    }
  } catch (error) {
    showError(error);
  }
  slot("orders", main).removeAttribute("aria-busy");
}

function renderOrder(order) {
  const justPaid = new URLSearchParams(location.search).has("purchase");
  const headline = {
    paid: justPaid ? "Thank you! Your order is paid." : "Paid, getting ready to ship.",
    shipped: "On its way.",
    delivered: "Delivered.",
    pending_payment: justPaid ? "Confirming your payment…" : "Waiting for payment.",
    cancelled: "Cancelled.",
    refunded: "Refunded.",
  }[order.status];
  slot("headline", main).textContent = headline || "";
  statusBadge(slot("status", main), order.status);
  const stamp = order.delivered_at || order.shipped_at || order.paid_at || order.created_at;
  slot("when", main).textContent = when(stamp);
  slot("note", main).textContent = order.note;
  slot("note", main).hidden = !order.note;
  const lines = slot("lines", main);
  lines.replaceChildren();
  for (const item of order.items) {
    const li = document.createElement("li");
    li.className = "line";
    li.append(thumb(item.image_url), textLine(item.product_title, `${item.variant_name} · ${item.quantity} × ${money(item.unit_price_cents, order.currency)}`),
      priceCell(money(item.unit_price_cents * item.quantity, order.currency)));
    lines.append(li);
  }
  slot("total", main).textContent = money(order.total_cents, order.currency);
  const a = order.shipping;
  slot("address", main).textContent = `Ships to ${a.name}, ${a.line1}${a.line2 ? `, ${a.line2}` : ""}, ${a.city} ${a.postal_code}${a.region ? `, ${a.region}` : ""}, ${a.country}`;
  slot("pay-again", main).hidden = !(order.status === "pending_payment" && !justPaid);
}

async function orderPage() {
  const id = main.dataset.orderId;
  const justPaid = new URLSearchParams(location.search).has("purchase");
  const deadline = performance.now() + 30_000;
  try {
    for (;;) {
      const order = await api("GET", `/api/orders/${id}`);
      renderOrder(order);
      // Right after paying, the provider's confirmation may take a moment (Stripe's webhook).
      if (!(justPaid && order.status === "pending_payment") || performance.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 700));
    }
  } catch (error) {
    showError(error);
  }
  slot("order", main).removeAttribute("aria-busy");
}

const pages = { cart: cartPage, checkout: checkoutPage, orders: ordersPage, order: orderPage };
pages[main.dataset.page]?.();
