/**
 * Memory in a browser tab: what a run will hold, planned before anything is
 * allocated, against what a tab offers. Two budgets:
 *
 * - the WASM heap of ONNX Runtime (32-bit addresses: at most 4 GiB): the
 *   runtime's own ({@linkcode TAB_WASM_BASE_BYTES}), the model (its bytes, and the weights unpacked from them), one tile in and
 *   its logits out, and the network's activations for one tile — the
 *   card's memory model (`memory.bytesPerVoxel` per patch voxel) where it
 *   has one, else four more tiles' worth (input and output channels) of
 *   float32 values;
 * - the page's own typed arrays (outside the WASM heap): the scan, the
 *   working image, the logits accumulator (classes + 1 float32 planes over
 *   the padded working grid), the resized logits on the cropped grid, the
 *   labels.
 *
 * A plan over either budget is refused with one line naming what does not
 * fit and the patch or spacing to try.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { InputError } from "../core/errors.ts";
import { bytesText } from "../core/limits.ts";
import type { ModelCard } from "../cards/card.ts";

/** The WASM heap a tab gives ONNX Runtime at most: 4 GiB (wasm32). */
export const TAB_WASM_HEAP_BYTES = 4 * 2 ** 30;

/**
 * ONNX Runtime Web's own heap before any model: its WASM module starts with
 * 16 MiB (measured in Chromium with onnxruntime-web 1.30); twice that is
 * planned.
 */
export const TAB_WASM_BASE_BYTES = 32 * 2 ** 20;

/** What this page lets its own typed arrays take at most. @default 4 GiB */
export const TAB_ARRAY_BYTES = 4 * 2 ** 30;

/** A memory plan of one run in a tab. */
export interface TabMemoryPlan {
  /** Planned peak of ONNX Runtime's WASM heap, bytes. */
  wasm: number;
  /** Planned peak of the page's typed arrays, bytes. */
  arrays: number;
  /** The WASM heap limit planned against. */
  wasmLimit: number;
  /** The typed-array limit planned against. */
  arraysLimit: number;
}

/** What {@linkcode planTabMemory} needs to know about a run. */
export interface TabRun {
  /** The card. */
  card: ModelCard;
  /** Patch (z, y, x); for a whole-volume card, the working grid. */
  patch: Shape3;
  /** The working grid (z, y, x) after resampling. */
  working: Shape3;
  /** The cropped grid (z, y, x) before resampling. */
  cropped: Shape3;
  /** Voxels of the input scan (all channels). */
  inputVoxels: number;
  /** Bytes of the largest model file. */
  modelBytes: number;
  /** Limits. @default {@linkcode TAB_WASM_HEAP_BYTES}, {@linkcode TAB_ARRAY_BYTES} */
  limits?: { wasm?: number; arrays?: number };
}

const voxels = (s: Shape3) => s[0] * s[1] * s[2];

/** Plans the memory of one run in a tab; throws an {@linkcode InputError} naming `label` when it cannot fit. */
export function planTabMemory(label: string, run: TabRun): TabMemoryPlan {
  const { card, patch } = run;
  const classes = card.classes.length, channels = card.input.channels;
  const pv = voxels(patch);
  const activations = card.memory ? card.memory.bytesPerVoxel * pv : 4 * 4 * pv * (channels + classes);
  const wasm = TAB_WASM_BASE_BYTES + 2 * run.modelBytes + 4 * pv * (channels + classes) + activations;
  // The padded working grid is at least the patch on every axis.
  const padded = voxels(run.working.map((d, k) => Math.max(d, patch[k])) as Shape3);
  const arrays = 4 * run.inputVoxels + 4 * channels * voxels(run.working) + 4 * (classes + 1) * padded +
    4 * classes * voxels(run.cropped) + 2 * voxels(run.cropped);
  const wasmLimit = run.limits?.wasm ?? TAB_WASM_HEAP_BYTES, arraysLimit = run.limits?.arrays ?? TAB_ARRAY_BYTES;
  if (wasm > wasmLimit) {
    throw new InputError(
      label,
      `the ${card.name} network at patch ${patch.join("x")} needs about ${bytesText(wasm)} of WASM heap, ` +
        `more than a tab's ${bytesText(wasmLimit)}; choose a smaller patch`,
    );
  }
  if (arrays > arraysLimit) {
    throw new InputError(
      label,
      `a ${run.working.join("x")} working grid with ${classes} classes needs about ${bytesText(arrays)} in the tab, ` +
        `more than its ${bytesText(arraysLimit)}; choose a coarser spacing`,
    );
  }
  return { wasm, arrays, wasmLimit, arraysLimit };
}
