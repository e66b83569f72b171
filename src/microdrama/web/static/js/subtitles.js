// @ts-check
// Subtitles in the player: each episode's WebVTT tracks become <track kind="subtitles">
// elements on its <video>; the chosen one runs in "hidden" mode and its active cues are drawn
// in our own caption box (above the controls, styled like the app). The CC button cycles
// off → each language → off, and the choice is remembered on this device.

const CHOICE = "md_cc"; // "off", or the language last chosen
const LAST_LANGUAGE = "md_cc_language";

/**
 * @param {{ button: HTMLElement, box: HTMLElement }} parts
 */
export function createSubtitles({ button, box }) {
  const listed = new Map(); // episode id -> Promise of its tracks [{language, label, url}]
  let followed = null; // the <video> on screen
  let listening = null; // the TextTrack whose cuechange we listen to
  const state = { language: null, text: "", available: [] };

  const stored = (name) => {
    try {
      return localStorage.getItem(name);
    } catch {
      return null;
    }
  };
  const store = (name, value) => {
    try {
      localStorage.setItem(name, value);
    } catch {}
  };

  function tracksOf(episodeId) {
    if (!listed.has(episodeId)) {
      listed.set(episodeId, fetch(`/api/episodes/${episodeId}/subtitles`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : []))
        .catch(() => []));
    }
    return listed.get(episodeId);
  }

  function subtitleTracks(video) {
    return [...video.textTracks].filter((t) => t.kind === "subtitles");
  }

  /** The track to show: the remembered language, else the device's language, else the first. */
  function chosen(video) {
    const tracks = subtitleTracks(video);
    if (!tracks.length || stored(CHOICE) === "off") return null;
    const wanted = [stored(LAST_LANGUAGE), navigator.language].filter(Boolean);
    for (const language of wanted) {
      const exact = tracks.find((t) => t.language === language);
      if (exact) return exact;
      const base = tracks.find((t) => t.language.split("-")[0] === language.split("-")[0]);
      if (base) return base;
    }
    return tracks[0];
  }

  function render() {
    const track = listening;
    const cues = track?.activeCues ? [...track.activeCues] : [];
    state.text = cues.map((c) => c.text).join("\n");
    box.replaceChildren(...cues.map((cue) => {
      const line = document.createElement("span");
      line.append(cue.getCueAsHTML()); // parsed by the browser: markup, never script
      return line;
    }));
    box.hidden = cues.length === 0;
  }

  function apply() {
    if (!followed) return;
    const track = chosen(followed);
    for (const t of subtitleTracks(followed)) t.mode = t === track ? "hidden" : "disabled";
    if (listening !== track) {
      listening?.removeEventListener("cuechange", render);
      listening = track;
      listening?.addEventListener("cuechange", render);
    }
    state.language = track?.language ?? null;
    state.available = subtitleTracks(followed).map((t) => t.language);
    button.hidden = state.available.length === 0;
    button.setAttribute("aria-pressed", String(Boolean(track)));
    button.querySelector(".label").textContent = track ? `CC ${track.language}` : "CC";
    button.setAttribute("aria-label", track ? `Subtitles: ${track.label}` : "Subtitles off");
    render();
  }

  button.addEventListener("click", () => {
    if (!followed) return;
    const languages = subtitleTracks(followed).map((t) => t.language);
    const current = state.language;
    const next = current === null ? languages[0] : languages[languages.indexOf(current) + 1];
    if (next === undefined) {
      store(CHOICE, "off");
    } else {
      store(CHOICE, "on");
      store(LAST_LANGUAGE, next);
    }
    apply();
  });

  return {
    state,
    /** Give a <video> the tracks of the episode it is loading (before or after it plays). */
    async attach(video, episodeId) {
      for (const old of video.querySelectorAll("track")) old.remove();
      video.dataset.subtitlesFor = String(episodeId);
      const tracks = await tracksOf(episodeId);
      if (video.dataset.subtitlesFor !== String(episodeId)) return; // another episode since
      for (const t of tracks) {
        const element = document.createElement("track");
        Object.assign(element, { kind: "subtitles", src: t.url, srclang: t.language, label: t.label });
        video.append(element);
      }
      for (const t of subtitleTracks(video)) t.mode = "disabled";
      if (video === followed) apply();
    },
    /** The <video> now on screen: its chosen track feeds the caption box. */
    follow(video) {
      followed = video;
      apply();
    },
  };
}
