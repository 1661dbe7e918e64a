/**
 * The prompt segmenter ({@linkcode Prompter}, `prompter_core.ts`) on
 * onnxruntime-node: importing this module makes `openGraph`
 * (`lib/engine/ort_graph.ts`) the sessions' default opener. The browser
 * tab imports `prompter_core.ts` and passes onnxruntime-web's opener.
 *
 * @module
 */
import { openGraph } from "../engine/ort_graph.ts";
import { setDefaultGraphOpener } from "./prompter_core.ts";

setDefaultGraphOpener(openGraph);

export * from "./prompter_core.ts";
