// @ts-check
// The feed (and an empty Discover) while the demo is being prepared: polls the seed's
// progress, moves the bar, and brings in each series as it is published (a reload while the
// page shows no series yet; otherwise the feed's new cards are appended, so a viewer already
// watching the first series is not disturbed).

const POLL_MS = 2000;
const box = document.getElementById("demo-progress");
let published = Number(box?.dataset.published ?? 0);

function show(progress) {
  box.querySelector("[data-demo-ready]").textContent = progress.episodes_ready;
  box.querySelector("[data-demo-total]").textContent = progress.episodes_total;
  const bar = /** @type {HTMLProgressElement} */ (box.querySelector("progress[data-demo-bar]"));
  bar.max = Math.max(progress.episodes_total, 1);
  bar.value = progress.episodes_ready;
  bar.textContent = `${progress.episodes_ready} of ${progress.episodes_total}`;
}

async function poll() {
  let progress;
  try {
    const response = await fetch("/api/demo/progress", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    progress = await response.json();
  } catch {
    setTimeout(poll, POLL_MS * 2); // the server restarting: try again a little later
    return;
  }
  const feed = document.getElementById("feed");
  const nothingShown = !feed?.querySelector(".card");
  const newSeries = progress.series_published > published || !progress.preparing;
  if (newSeries && nothingShown) {
    location.reload();
    return;
  }
  if (newSeries) {
    published = progress.series_published;
    // The feed's own instance: its script's URL (with its ?v=), not "./feed.js", which
    // would be a second copy of the module with a second feed state.
    const script = /** @type {HTMLScriptElement} */ (document.querySelector("script[src*='/js/feed.js']"));
    const { feedState } = await import(script.src);
    await feedState.refresh();
  }
  if (!progress.preparing) {
    box.closest(".demo-banner")?.remove();
    return;
  }
  show(progress);
  setTimeout(poll, POLL_MS);
}

if (box) setTimeout(poll, POLL_MS);
