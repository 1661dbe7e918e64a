/**
 * The one place that owns load-time graph rewrites. A model's bytes go in
 * with the provider that will run it; the passes that apply to that provider
 * run in order over one decoded graph, and one encoded model comes out.
 * Each pass lives in a module of its own (`fp16.ts`, …) and is listed in
 * {@linkcode PASSES}.
 *
 * @module
 */
import { hasFloat16Initializers, rewriteGraphToFloat32 } from "./fp16.ts";
import { CONV_TRANSPOSE_3D } from "./conv_transpose.ts";
import { INSTANCE_NORM } from "./instance_norm.ts";
import type { GraphPass } from "./graph_pass.ts";

import { decodeModel, encodeModel } from "../onnx_proto.ts";
import { releaseBuffer } from "../../core/bytes.ts";

/** fp16 weights upcast to a true fp32 graph, for the CPU provider only (see `fp16.ts`). */
export const FP16_TO_FP32: GraphPass = {
  name: "fp16->fp32",
  wanted: (bytes, provider) => provider === "cpu" && hasFloat16Initializers(bytes),
  run(model) {
    const { casts, tensors } = rewriteGraphToFloat32(model.graph!);
    return `${tensors} tensors upcast, ${casts} casts dropped`;
  },
};

/** The passes, in the order they run. */
export const PASSES: readonly GraphPass[] = [
  FP16_TO_FP32,
  INSTANCE_NORM,
  CONV_TRANSPOSE_3D,
];

/** What {@linkcode rewriteForProvider} did. */
export interface Rewritten {
  /** The model to hand to ONNX Runtime (the input bytes when nothing changed). */
  bytes: Uint8Array;
  /** One entry per pass that changed the model: `name: detail`. */
  steps: string[];
  /** Seconds spent (decode, passes, encode). */
  seconds: number;
}

/**
 * Applies every pass of `passes` that is wanted for `provider` to the model;
 * returns the input bytes untouched, without decoding them, when none is.
 * Throws on bytes that are not an ONNX model.
 */
export function rewriteForProvider(
  bytes: Uint8Array,
  provider: string,
  passes: readonly GraphPass[] = PASSES,
): Rewritten {
  const t0 = performance.now();
  const todo = passes.filter((p) => p.wanted(bytes, provider));
  if (!todo.length) return { bytes, steps: [], seconds: 0 };
  const model = decodeModel(bytes);
  if (!model.graph) throw new Error("no graph in the model");
  const steps: string[] = [];
  for (const p of todo) {
    const detail = p.run(model, provider);
    if (detail !== undefined) steps.push(`${p.name}: ${detail}`);
  }
  if (!steps.length) return { bytes, steps, seconds: (performance.now() - t0) / 1000 };
  model.producer_name = `${model.producer_name ?? ""} (rewritten by siamize: ${
    steps.map((s) => s.split(":")[0]).join(", ")
  })`.trim();
  const out = encodeModel(model);
  // The passes' new tensors (fp32 weights: twice the fp16 file) are in `out` now.
  for (const t of model.graph.initializer ?? []) {
    if (t.raw_data && t.raw_data.buffer !== bytes.buffer) releaseBuffer(t.raw_data);
  }
  return { bytes: out, steps, seconds: (performance.now() - t0) / 1000 };
}
