// @ts-check
// A gentle watch-time reminder: after the minutes the viewer chose (/account), once a day.
//
// Time watched is counted on this device per local day (localStorage), only while a video
// actually plays. With test hooks enabled, window.__reminder exposes it: `seconds`, `add(seconds)`.

import { plural } from "./api.js";
import { exposeForTests } from "./dom.js";

const MAX_TICK_MS = 2000; // a longer gap means the tab slept: not watching

function today() {
  const now = new Date();
  return `${now.getFullYear()}-${now.getMonth() + 1}-${now.getDate()}`;
}

function read(name) {
  try {
    return Number(localStorage.getItem(name)) || 0;
  } catch {
    return 0;
  }
}

function write(name, value) {
  try {
    localStorage.setItem(name, String(value));
  } catch {}
}

/**
 * Count playing time; show the reminder in `root` once `minutes` are reached today.
 * @param {HTMLElement} root
 * @param {number | null} minutes
 */
export function watchReminder(root, minutes) {
  let day = today();
  let seconds = read(`md_watched:${day}`);
  let lastTick = null;
  let lastSaved = 0;
  let element = null;

  function show() {
    if (element || read(`md_reminded:${day}`)) return;
    element = document.createElement("div");
    element.className = "reminder";
    element.setAttribute("role", "status");
    element.dataset.testid = "watch-reminder";
    const watched = Math.round(seconds / 60);
    element.innerHTML = `
      <p><b>Time for a break?</b> You have watched for <span></span> today.</p>
      <div class="reminder-actions">
        <button class="button" type="button" data-action="dismiss">Keep watching</button>
        <a class="reminder-settings" href="/account">Reminder settings</a>
      </div>`;
    element.querySelector("span").textContent = plural(watched, "minute");
    element.querySelector("[data-action=dismiss]").addEventListener("click", () => {
      write(`md_reminded:${day}`, 1);
      element.remove();
    });
    root.append(element);
  }

  function add(delta) {
    const now = today();
    if (now !== day) {
      day = now;
      seconds = read(`md_watched:${day}`);
    }
    seconds += delta;
    if (seconds - lastSaved >= 5 || delta >= 5) {
      lastSaved = seconds;
      write(`md_watched:${day}`, Math.round(seconds));
    }
    if (minutes && seconds >= minutes * 60) show();
  }

  exposeForTests("__reminder", {
    get seconds() { return seconds; },
    add,
  });

  return {
    /** Call on timeupdate while playing. */
    tick() {
      const now = performance.now();
      if (lastTick !== null && now - lastTick < MAX_TICK_MS) add((now - lastTick) / 1000);
      lastTick = now;
    },
    /** Call on pause / end: the next tick starts a new stretch. */
    stop() {
      if (lastTick !== null) add(0);
      lastTick = null;
    },
  };
}
