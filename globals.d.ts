// The globals the vendored scripts and the page templates define for the app's modules.
import type HlsClass from "hls.js";
import type { Chart as ChartClass } from "chart.js";
import type * as TusClient from "tus-js-client";

declare global {
  interface Window {
    /** hls.js, once media.js has loaded vendor/hls.min.js. */
    Hls?: typeof HlsClass;
    /** Chart.js (vendor/chart.umd.min.js) on the dashboards. */
    Chart?: typeof ChartClass;
  }
  /** tus-js-client (vendor/tus.min.js) on the studio's series page. */
  const tus: typeof TusClient;
}

export {};
