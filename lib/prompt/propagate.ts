/**
 * A 3-D mask from one prompt: segment the start slice, then the slices on
 * either side, one after the other, each prompted by the box around the
 * previous slice's mask (plus a margin), until a mask comes back empty, a
 * slice holds one value only, or the volume ends.
 *
 * @module
 */
import type { Volume } from "../core/types.ts";
import type { Prompter } from "./prompter.ts";
import type { Prompt } from "./prompts.ts";
import { isConstant } from "./preprocess.ts";
import { dims3, putSlice, type SliceRef, takeSlice } from "./slice.ts";

/** The box `[x1, y1, x2, y2]` around a (H, W) mask's set pixels, grown by `margin` and clipped; undefined when empty. */
export function maskBox(
  mask: Uint8Array,
  height: number,
  width: number,
  margin = 0,
): [number, number, number, number] | undefined {
  let x1 = Infinity, y1 = Infinity, x2 = -1, y2 = -1;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      if (!mask[r * width + c]) continue;
      if (c < x1) x1 = c;
      if (c > x2) x2 = c;
      if (r < y1) y1 = r;
      if (r > y2) y2 = r;
    }
  }
  if (x2 < 0) return undefined;
  return [
    Math.max(0, x1 - margin),
    Math.max(0, y1 - margin),
    Math.min(width - 1, x2 + margin),
    Math.min(height - 1, y2 + margin),
  ];
}

/** What {@linkcode propagate} did. */
export interface Propagation {
  /** The 3-D mask on the volume's grid (x fastest), 0/1. */
  mask: Uint8Array;
  /** Indices of the slices with a non-empty mask, ascending. */
  slices: number[];
}

/**
 * Segments `start` with `prompt`, then the neighbouring slices along
 * `start.axis` in both directions, each with the previous mask's box grown
 * by `margin` pixels; stops in each direction at the first empty mask.
 * `onSlice` hears each slice segmented (index, pixels set).
 */
export async function propagate(
  prompter: Prompter,
  volume: Volume,
  start: SliceRef,
  prompt: Prompt,
  options: { margin?: number; path?: string; onSlice?: (index: number, pixels: number) => void } = {},
): Promise<Propagation> {
  const dims = dims3(volume);
  const path = options.path ?? "volume";
  const out = new Uint8Array(dims[0] * dims[1] * dims[2]);
  const slices: number[] = [];
  const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
  const first = takeSlice(volume, start, path);
  const p0 = await prompter.predict(await prompter.embed(first), prompt);
  const n0 = count(p0.mask);
  options.onSlice?.(start.index, n0);
  if (n0 === 0) return { mask: out, slices };
  putSlice(out, dims, start, p0.mask);
  slices.push(start.index);
  for (const step of [1, -1]) {
    let prev = p0;
    for (let k = start.index + step; k >= 0 && k < dims[start.axis]; k += step) {
      const box = maskBox(prev.mask, prev.height, prev.width, options.margin ?? 2);
      if (!box) break;
      const ref = { axis: start.axis, index: k };
      const slice = takeSlice(volume, ref, path);
      if (isConstant(slice.data)) break; // nothing to segment (SAMRI would see an all-zero image)
      const p = await prompter.predict(await prompter.embed(slice), { box });
      const n = count(p.mask);
      options.onSlice?.(k, n);
      if (n === 0) break;
      putSlice(out, dims, ref, p.mask);
      slices.push(k);
      prev = p;
    }
  }
  return { mask: out, slices: slices.sort((a, b) => a - b) };
}
