// @ts-check
// My list: the follow buttons (feed cards, the series page, the player) and the My list link's
// badge. A button is `<button data-follow="SERIES_ID" aria-pressed="true|false">`; a tap asks
// PUT or DELETE /api/my-list/{id}, every button of that series follows, and the badges take
// the count of followed series with new episodes from the answer. Loading the module wires
// every such button on the page, also those added later (the feed's next cards).

import { api } from "./api.js";

const busy = new Set(); // series ids with a request on the way

/**
 * Show a series as followed or not on every button of the page.
 * @param {string} seriesId
 * @param {boolean} following
 */
function showFollowing(seriesId, following) {
  for (const button of document.querySelectorAll(`[data-follow="${CSS.escape(seriesId)}"]`)) {
    button.setAttribute("aria-pressed", String(following));
  }
}

/**
 * The badges of the My list links: a count of followed series with new episodes, hidden at 0.
 * @param {number} count
 */
export function showNewEpisodes(count) {
  for (const badge of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("[data-my-list-badge]"))) {
    badge.textContent = String(count);
    badge.hidden = count === 0;
  }
  for (const link of document.querySelectorAll("[data-my-list-link]")) {
    link.setAttribute("aria-label", count ? `My list, ${count} with new episodes` : "My list");
  }
}

/**
 * Follow or unfollow the button's series; on an error the button goes back and says why.
 * @param {HTMLElement} button
 */
export async function toggleFollow(button) {
  const seriesId = button.dataset.follow;
  if (!seriesId || busy.has(seriesId)) return;
  const follow = button.getAttribute("aria-pressed") !== "true";
  busy.add(seriesId);
  showFollowing(seriesId, follow); // at once: the answer only confirms it
  try {
    // keepalive: following, then leaving for My list at once, still follows.
    const state = await api(follow ? "PUT" : "DELETE", `/api/my-list/${encodeURIComponent(seriesId)}`, {
      keepalive: true,
    });
    showFollowing(seriesId, state.following);
    showNewEpisodes(state.with_new_episodes);
    button.removeAttribute("title");
  } catch (error) {
    showFollowing(seriesId, !follow);
    button.title = error.message;
  } finally {
    busy.delete(seriesId);
  }
}

document.addEventListener("click", (event) => {
  const button = /** @type {HTMLElement | null} */ (/** @type {HTMLElement} */ (event.target).closest?.("[data-follow]"));
  if (!button) return;
  event.preventDefault();
  toggleFollow(button);
});
