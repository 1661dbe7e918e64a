/**
 * ONNX Runtime Web's types (onnxruntime-web), by its full `npm:` specifier,
 * for the browser adapter (`ort_web.ts`). Types only: the page loads the
 * runtime itself from the site (`ort/ort.webgpu.min.mjs`), and nothing of
 * the package is bundled. The version is written here once for lib/; the
 * site copies the same version's files (`lib/web/site.ts`).
 *
 * @module
 */
import type * as OrtWeb from "npm:onnxruntime-web@1.30.0";

/** The `onnxruntime-web` module as the page loads it. */
export type OrtWebModule = typeof OrtWeb;

/** The onnxruntime-web version whose files the site copies (the one named above). */
export const ORT_WEB_VERSION = "1.30.0";
