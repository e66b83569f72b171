// @ts-check
// Which brand the brand pages show: an operator's pick (?brand=<id>, inlined by the page as
// brand_id) goes along with every list and create call, so the page and its data agree.

const data = JSON.parse(document.getElementById("page-data")?.textContent || "{}");

/**
 * The URL with the operator's brand pick added (brands' own pages add nothing).
 * @param {string} url
 */
export function withBrand(url) {
  if (data.brand_id === null || data.brand_id === undefined) return url;
  return `${url}${url.includes("?") ? "&" : "?"}brand=${encodeURIComponent(data.brand_id)}`;
}

// The picker in the header: choosing a brand reloads the page for it (its button does the same
// without script).
const picker = document.querySelector("[data-testid=brand-picker]");
picker?.querySelector("select")?.addEventListener("change", () => /** @type {HTMLFormElement} */ (picker).requestSubmit());
