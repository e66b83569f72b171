// @ts-check
// Discover: arrows beside each row's title for a mouse (a wheel scrolls the page, not a row);
// touch, trackpads and the keyboard (Tab walks a row's posters) scroll the rows without them.
// A tap scrolls the row by most of its width; an arrow is disabled at its end of the row.

const FINE_POINTER = window.matchMedia("(hover: hover) and (pointer: fine)");

/**
 * Enable each arrow of a row unless the row is already at that end.
 * @param {HTMLElement} shelf
 * @param {HTMLButtonElement} back
 * @param {HTMLButtonElement} forward
 */
function showEnds(shelf, back, forward) {
  const end = shelf.scrollWidth - shelf.clientWidth - 2; // rounding of fractional widths
  back.disabled = shelf.scrollLeft <= 2;
  forward.disabled = shelf.scrollLeft >= end;
}

/** @param {HTMLElement} row */
function wire(row) {
  const shelf = /** @type {HTMLElement} */ (row.querySelector("[data-shelf]"));
  const arrows = /** @type {HTMLElement} */ (row.querySelector("[data-arrows]"));
  if (!shelf || !arrows || shelf.scrollWidth <= shelf.clientWidth) return;
  const back = /** @type {HTMLButtonElement} */ (arrows.querySelector('[data-scroll="back"]'));
  const forward = /** @type {HTMLButtonElement} */ (arrows.querySelector('[data-scroll="forward"]'));
  const step = () => Math.max(shelf.clientWidth * 0.85, 100);
  back.addEventListener("click", () => shelf.scrollBy({ left: -step(), behavior: "smooth" }));
  forward.addEventListener("click", () => shelf.scrollBy({ left: step(), behavior: "smooth" }));
  shelf.addEventListener("scroll", () => showEnds(shelf, back, forward), { passive: true });
  showEnds(shelf, back, forward);
  arrows.hidden = false;
}

if (FINE_POINTER.matches) {
  for (const row of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-row]"))) wire(row);
}
