// @ts-check
// Following an AI job (writers' room, table read, captions, translation) from a page: its
// progress as Server-Sent Events (GET /api/studio/ai-jobs/{id}/events), polling when the stream
// cannot be had, a Cancel, and a small progress element (bar, message, Cancel) pages reuse.

import { ApiError, api } from "./api.js";
import { el } from "./dom.js";

const POLL_MS = 700;
// No event this long after opening the stream (a proxy that buffers it): poll instead.
const FIRST_EVENT_MS = 8000;

/**
 * An AI job as the API answers it.
 * @typedef {{ id: number, kind: string, subject: string, state: string, progress: number,
 *   message: string, result: any, error: string | null, cancel_requested: boolean,
 *   final: boolean }} AIJob
 */

/** A job that ended without a result: failed (`error` says why) or cancelled. */
export class JobEnded extends Error {
  /** @param {AIJob} job */
  constructor(job) {
    super(job.state === "cancelled" ? "Cancelled." : job.error || `The job ended ${job.state}.`);
    this.job = job;
    this.state = job.state;
    this.cancelled = job.state === "cancelled";
  }
}

/** @param {AIJob} job */
function outcome(job) {
  if (job.state === "done") return job.result;
  throw new JobEnded(job);
}

/**
 * @param {number} id
 * @param {(job: AIJob) => void} onJob
 * @returns {Promise<any>}
 */
async function poll(id, onJob) {
  for (;;) {
    const job = /** @type {AIJob} */ (await api("GET", `/api/studio/ai-jobs/${id}`));
    onJob(job);
    if (job.final) return outcome(job);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * Follow an AI job until it ends: resolves with its result; rejects with a JobEnded (failed,
 * cancelled) or an ApiError (not found, signed out, offline).
 * `onProgress(fraction, message, job)` hears each change.
 * @param {number} id
 * @param {(fraction: number, message: string, job: AIJob) => void} [onProgress]
 * @returns {Promise<any>}
 */
export function followJob(id, onProgress = () => {}) {
  let last = "";
  /** @param {AIJob} job */
  const hear = (job) => {
    const key = `${job.state}:${job.progress}:${job.message}`;
    if (key !== last) onProgress(job.progress, job.message, job);
    last = key;
  };
  if (typeof EventSource === "undefined") return poll(id, hear);
  return new Promise((resolve, reject) => {
    const source = new EventSource(`/api/studio/ai-jobs/${id}/events`);
    let heard = false;
    const fallback = () => {
      source.close();
      clearTimeout(timer);
      poll(id, hear).then(resolve, reject);
    };
    const timer = setTimeout(() => heard || fallback(), FIRST_EVENT_MS);
    source.addEventListener("job", (event) => {
      heard = true;
      const job = /** @type {AIJob} */ (JSON.parse(/** @type {MessageEvent} */ (event).data));
      hear(job);
      if (!job.final) return;
      source.close();
      clearTimeout(timer);
      try {
        resolve(outcome(job));
      } catch (error) {
        reject(error);
      }
    });
    // The stream ends every minute and the browser opens it again by itself; an error with
    // the source closed is a refusal (404, 401): polling then tells which, as an ApiError.
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) fallback();
    });
  });
}

/**
 * Ask to cancel a job: a queued one stops at once, a running one within seconds. Resolves with
 * the job; one that finished meanwhile is not an error (it is answered as it is).
 * @param {number} id
 * @returns {Promise<AIJob>}
 */
export async function cancelJob(id) {
  try {
    return await api("POST", `/api/studio/ai-jobs/${id}/cancel`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return api("GET", `/api/studio/ai-jobs/${id}`);
    throw error;
  }
}

/**
 * A job's progress in `container`: a bar, what the job is doing, and a Cancel button. Resolves
 * with the result when the job is done (the element goes away); on failure or cancel the
 * element stays with the reason and the promise rejects with a JobEnded.
 * @param {HTMLElement} container
 * @param {number} id
 * @param {{ label?: string }} [options]
 * @returns {Promise<any>}
 */
export async function showJobProgress(container, id, { label = "AI job" } = {}) {
  const bar = el("progress", { max: "1", value: "0", "aria-label": label });
  const message = el("span", { class: "ai-job-message", "data-testid": "ai-job-message" });
  const cancel = el("button", {
    type: "button",
    class: "ai-job-cancel",
    "data-testid": "ai-job-cancel",
    text: "Cancel",
    onclick: async () => {
      cancel.disabled = true;
      message.textContent = "Cancelling…";
      try {
        await cancelJob(id);
      } catch (error) {
        cancel.disabled = false;
        message.textContent = error.message;
      }
    },
  });
  const box = el("div", { class: "ai-job", role: "status", "data-testid": "ai-job", dataset: { jobId: String(id) } },
    bar, message, cancel);
  container.append(box);
  try {
    const result = await followJob(id, (fraction, text, job) => {
      bar.value = fraction;
      message.textContent = text;
      box.dataset.state = job.state;
    });
    box.remove();
    return result;
  } catch (error) {
    box.dataset.state = error instanceof JobEnded ? error.state : "error";
    bar.remove();
    cancel.remove();
    message.textContent = error.message;
    throw error;
  }
}
