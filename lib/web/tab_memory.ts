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
 * fit and the patch or spacing to try. A 2-D prompt card (SAMRI) has its
 * own plan ({@linkcode planPromptTabMemory}): both networks, SAM's image
 * encoder's activations at its input size, the scan and the mask.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { InputError } from "../core/errors.ts";
import { bytesText } from "../core/limits.ts";
import type { ModelCard } from "../cards/card.ts";
import type { PromptCard } from "../prompt/card.ts";

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

/**
 * SAM's ViT-B image encoder as {@linkcode planPromptTabMemory} plans it: 16-pixel
 * patches, 768 channels, 12 heads; a global-attention block holds the
 * scores and their softmax (heads × tokens² float32, twice), the largest
 * step of the network.
 */
export const SAM_ENCODER_PLAN = { patch: 16, channels: 768, heads: 12 } as const;

/** What {@linkcode planPromptTabMemory} needs to know about a prompt run. */
export interface PromptTabRun {
  /** The card. */
  card: PromptCard;
  /** Bytes of the encoder file. */
  encoderBytes: number;
  /** Bytes of the decoder file. */
  decoderBytes: number;
  /** Voxels of the scan (a 2-D image: its pixels); 0 before a scan is picked. */
  scanVoxels?: number;
  /** Bytes of the scan's file. */
  scanFileBytes?: number;
  /** Pixels of the slice prompted on. */
  slicePixels?: number;
  /** Limits. @default {@linkcode TAB_WASM_HEAP_BYTES}, {@linkcode TAB_ARRAY_BYTES} */
  limits?: { wasm?: number; arrays?: number };
}

/**
 * Plans the memory of a prompt card in a tab — the WASM heap: the runtime,
 * both networks (twice their bytes), the encoder's input and output and its
 * activations ({@linkcode SAM_ENCODER_PLAN} at the card's input size), the
 * decoder's masks at the slice's size; the page's arrays: the scan's file and
 * float64 values, the mask on its grid, the encoder's input — and throws an
 * {@linkcode InputError} naming `label` when either does not fit.
 */
export function planPromptTabMemory(label: string, run: PromptTabRun): TabMemoryPlan {
  const { card } = run;
  const L = card.longSide, tokens = (L / SAM_ENCODER_PLAN.patch) ** 2;
  const size = (dims: (number | string)[]) => dims.reduce<number>((a, d) => a * (typeof d === "number" ? d : 1), 1);
  const encIn = 4 * size(Object.values(card.networks.encoder.inputs)[0]);
  const encOut = 4 * size(Object.values(card.networks.encoder.outputs)[0]);
  const activations = 2 * 4 * SAM_ENCODER_PLAN.heads * tokens * tokens + 8 * 4 * tokens * SAM_ENCODER_PLAN.channels;
  // The decoder's four masks at the slice's size and their upscaling from L x L.
  const masks = 2 * 4 * 4 * Math.max(L * L, run.slicePixels ?? 0);
  const wasm = TAB_WASM_BASE_BYTES + 2 * (run.encoderBytes + run.decoderBytes) + encIn + encOut + activations + masks;
  const voxels = run.scanVoxels ?? 0;
  const arrays = (run.scanFileBytes ?? 0) + 4 * voxels + 8 * voxels + voxels + 2 * encIn + encOut;
  const wasmLimit = run.limits?.wasm ?? TAB_WASM_HEAP_BYTES, arraysLimit = run.limits?.arrays ?? TAB_ARRAY_BYTES;
  if (wasm > wasmLimit) {
    throw new InputError(
      label,
      `the ${card.name} encoder and decoder (${bytesText(run.encoderBytes + run.decoderBytes)}) need about ` +
        `${bytesText(wasm)} of WASM heap, more than a tab's ${bytesText(wasmLimit)}; run them with siamize prompt`,
    );
  }
  if (arrays > arraysLimit) {
    throw new InputError(
      label,
      `a scan of ${voxels} voxels needs about ${bytesText(arrays)} in the tab, more than its ${
        bytesText(arraysLimit)
      }; take the slice out first or use siamize prompt`,
    );
  }
  return { wasm, arrays, wasmLimit, arraysLimit };
}
