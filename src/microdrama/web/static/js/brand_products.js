// @ts-check
// /brand/products: the brand's catalog; products, their variants and stock, edited in place.

import { api, ApiError, money } from "./api.js";
import { withBrand } from "./brand_view.js";
import { busy, fail, failField, notify, parseCents } from "./backoffice.js";
import { el, fields, slot } from "./dom.js";

const form = /** @type {HTMLFormElement} */ (slot("form"));

function field(label, input) {
  return el("label", { class: "bo-field" }, label, input);
}

function variantRow(product, variant) {
  const stock = el("input", { class: "bo-input", type: "number", min: 0, max: 1_000_000, value: variant.stock, "aria-label": `Stock of ${variant.name}`, dataset: { testid: "variant-stock" } });
  const price = el("input", { class: "bo-input", inputmode: "decimal", value: variant.price_cents === null ? "" : (variant.price_cents / 100).toFixed(2), placeholder: "product's", "aria-label": `Price of ${variant.name}` });
  const save = el("button", { class: "button small", type: "button", text: "Save", dataset: { testid: "variant-save" } });
  save.addEventListener("click", async () => {
    const priceText = price.value.trim();
    const cents = priceText === "" ? null : parseCents(priceText);
    if (priceText !== "" && cents === null) return fail("A price is an amount like 49 or 49.90.");
    const body = { stock: Number(stock.value), price_cents: cents };
    const saved = await busy(save, () => api("PATCH", `/api/brand/variants/${variant.id}`, { body }));
    if (saved) notify(`${product.title} · ${saved.name}: ${saved.stock} in stock.`);
  });
  return el(
    "tr",
    { dataset: { testid: "variant-row", variantId: variant.id } },
    el("td", { text: `${variant.name} (${variant.sku})` }),
    el("td", {}, stock),
    el("td", {}, price),
    el("td", {}, save),
  );
}

// The server's limit too (shop/product_images.py): checked here so a huge file is not sent.
const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

async function sendImage(product, file) {
  if (file.size > MAX_IMAGE_BYTES) {
    throw new ApiError(422, { message: "The image is larger than 8 MB; send a smaller JPEG, PNG or WebP picture." });
  }
  const body = new FormData();
  body.append("file", file);
  let response;
  try {
    response = await fetch(`/api/brand/products/${product.id}/images`, { method: "POST", body, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, { message: "No connection. Check your network and try again." });
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

/** The shown image with "Upload image" (it becomes the shown one) and "Remove image". */
function imageBlock(product) {
  const shown = product.image_urls[0];
  const picture = el(
    "div",
    { class: "bo-product-image", dataset: { testid: "product-image" } },
    shown ? el("img", { src: shown, alt: product.title }) : el("span", { text: "No image yet" }),
  );
  const input = el("input", { type: "file", accept: "image/jpeg,image/png,image/webp", class: "visually-hidden", dataset: { testid: "product-image-input" } });
  const choose = el("label", { class: "button small" }, shown ? "Upload another image" : "Upload image", input);
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    choose.classList.add("is-busy");
    try {
      await sendImage(product, file);
      notify(`New image for ${product.title}.`);
      await load();
    } catch (error) {
      fail(error);
    } finally {
      input.value = "";
      choose.classList.remove("is-busy");
    }
  });
  const remove = el("button", { class: "button small ghost", type: "button", text: "Remove image", hidden: !shown, dataset: { testid: "product-image-remove" } });
  remove.addEventListener("click", async () => {
    const removed = await busy(remove, () => api("DELETE", `/api/brand/products/${product.id}/images/0`));
    if (removed) {
      notify(`Removed the image of ${product.title}.`);
      await load();
    }
  });
  return { picture, actions: el("div", { class: "bo-actions" }, choose, remove) };
}

function productCard(product) {
  const title = el("input", { class: "bo-input", value: product.title, maxlength: 200, "aria-label": "Title" });
  const price = el("input", { class: "bo-input", value: (product.price_cents / 100).toFixed(2), inputmode: "decimal", "aria-label": "Price", dataset: { testid: "product-price" } });
  const image = el("input", { class: "bo-input", type: "url", value: product.image_urls[0] || "", "aria-label": "Image URL" });
  const active = el("input", { type: "checkbox", checked: product.active, dataset: { testid: "product-active" } });
  const save = el("button", { class: "button small", type: "button", text: "Save product", dataset: { testid: "product-save" } });
  save.addEventListener("click", async () => {
    const cents = parseCents(price.value);
    if (cents === null) return fail("A price is an amount like 49 or 49.90.");
    const body = {
      title: title.value,
      price_cents: cents,
      active: active.checked,
      image_urls: image.value.trim() ? [image.value.trim(), ...product.image_urls.slice(1)] : product.image_urls.slice(1),
    };
    const saved = await busy(save, () => api("PATCH", `/api/brand/products/${product.id}`, { body }));
    if (saved) {
      notify(`Saved ${saved.title}: ${money(saved.price_cents, saved.currency)}${saved.active ? "" : " (hidden from viewers)"}.`);
      await load();
    }
  });

  const newName = el("input", { class: "bo-input", placeholder: "L / Blue", maxlength: 120, "aria-label": "New variant name" });
  const newSku = el("input", { class: "bo-input", placeholder: "SKU", maxlength: 64, "aria-label": "New variant SKU" });
  const newStock = el("input", { class: "bo-input", type: "number", min: 0, value: 0, "aria-label": "New variant stock" });
  const add = el("button", { class: "button small", type: "button", text: "Add variant", dataset: { testid: "variant-add" } });
  add.addEventListener("click", async () => {
    const body = { name: newName.value, sku: newSku.value, stock: Number(newStock.value) };
    const added = await busy(add, () => api("POST", `/api/brand/products/${product.id}/variants`, { body }));
    if (added) {
      notify(`Added ${added.name} to ${product.title}.`);
      await load();
    }
  });

  const imageParts = imageBlock(product);
  return el(
    "article",
    { class: "bo-card", dataset: { testid: "product", productId: product.id } },
    el(
      "div",
      { class: "bo-product-head" },
      imageParts.picture,
      el(
        "div",
        {},
        el("h2", { text: `${product.title}` }),
        el("p", { class: "bo-hint", text: `SKU ${product.sku} · ${money(product.price_cents, product.currency)}${product.active ? "" : " · hidden"}` }),
        imageParts.actions,
      ),
    ),
    el("div", { class: "bo-row" }, field("Title", title), field("Price", price)),
    el("div", { class: "bo-row" }, field("Image URL", image), el("label", { class: "bo-field" }, "Shown to viewers", active)),
    el("div", { class: "bo-actions" }, save),
    el(
      "div",
      { class: "bo-table-wrap" },
      el(
        "table",
        { class: "bo-table bo-variants" },
        el("thead", {}, el("tr", {}, el("th", { text: "Variant" }), el("th", { text: "Stock" }), el("th", { text: "Price" }), el("th"))),
        el("tbody", {}, ...product.variants.map((v) => variantRow(product, v))),
      ),
    ),
    el("div", { class: "bo-row" }, newName, newSku, newStock, add),
  );
}

async function load() {
  const products = await api("GET", withBrand("/api/brand/products"));
  slot("list").replaceChildren(...products.map(productCard));
  slot("empty").hidden = products.length > 0;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = fields(form);
  const cents = parseCents(f.price.value);
  if (cents === null) return failField(form, "price", "A price is an amount like 49 or 49.90.");
  const body = {
    title: f.title.value,
    sku: f.sku.value,
    price_cents: cents,
    currency: f.currency.value,
    description: f.description.value,
    image_urls: f.image_url.value.trim() ? [f.image_url.value.trim()] : [],
    variants: f.variant_name.value.trim()
      ? [{ name: f.variant_name.value, sku: f.variant_sku.value || `${f.sku.value}-1`, stock: Number(f.variant_stock.value) }]
      : [],
  };
  const created = await busy(form.querySelector('[type="submit"]'), () => api("POST", withBrand("/api/brand/products"), { body }), {
    form,
    fields: { image_urls: "image_url", "image_urls.0": "image_url", variants: "variant_name", "variants.0.name": "variant_name", "variants.0.sku": "variant_sku", "variants.0.stock": "variant_stock" },
  });
  if (created) {
    notify(`Added ${created.title} to your catalog.`);
    form.reset();
    await load();
  }
});

load().catch(fail);
