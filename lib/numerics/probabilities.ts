/**
 * Probability maps: per-channel order-1 resize of the fold-averaged logits,
 * softmax at a temperature, the SPM12 6-class merge, and argmax of
 * probabilities. Arrays are (C, z, y, x), channel-major.
 *
 * @module
 */
import { type Box, boxShape, pasteInto } from "../geometry/crop.ts";
import { argmaxChannels } from "./argmax.ts";
import { Resizer } from "../geometry/resample.ts";
import { type Shape3 } from "../core/types.ts";

/** Resizes every channel of (C, from) logits to (C, to); returns a new array (or the input when shapes match). */
export function resizeChannels(logits: Float32Array, classes: number, from: Shape3, to: Shape3): Float32Array {
  if (from.every((s, k) => s === to[k])) return logits;
  const fromN = from[0] * from[1] * from[2];
  const n = to[0] * to[1] * to[2];
  const out = new Float32Array(classes * n);
  const r = new Resizer(from, to, 1);
  for (let c = 0; c < classes; c++) {
    r.run(logits.subarray(c * fromN, (c + 1) * fromN), out.subarray(c * n, (c + 1) * n), false);
  }
  return out;
}

/**
 * Softmax over channels at temperature `t`, in place: p_c = exp((l_c - max) / t) / sum.
 * Sums are in float64; each voxel sums to 1 within float32 rounding.
 */
export function softmaxInPlace(p: Float32Array, classes: number, t = 1): Float32Array {
  const n = p.length / classes;
  const inv = 1 / t;
  const e = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) if (p[c * n + i] > max) max = p[c * n + i];
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = Math.exp((p[c * n + i] - max) * inv);
      e[c] = v;
      sum += v;
    }
    for (let c = 0; c < classes; c++) p[c * n + i] = e[c] / sum;
  }
  return p;
}

/** Sums probability channels into merged classes: out[map[c]] += p[c]. */
export function mergeClasses(p: Float32Array, classes: number, map: number[], outClasses: number): Float32Array {
  const n = p.length / classes;
  const out = new Float32Array(outClasses * n);
  for (let c = 0; c < classes; c++) {
    const src = p.subarray(c * n, (c + 1) * n);
    const dst = out.subarray(map[c] * n, (map[c] + 1) * n);
    for (let i = 0; i < n; i++) dst[i] += src[i];
  }
  return out;
}

/** Argmax over channels (first maximum wins, like numpy). */
export function argmaxProbabilities(p: Float32Array, classes: number): Uint8Array {
  const n = p.length / classes;
  return argmaxChannels(p, 0, classes, [n, 1, 1], [n, 1, 1]).labels;
}

/**
 * Pastes (C, box) channels into a (C, full) grid; outside the box the
 * `fill` channel is 1 and the others 0 (probability of background).
 */
export function pasteChannels(p: Float32Array, classes: number, full: Shape3, box: Box, fill: number): Float32Array {
  const n = full[0] * full[1] * full[2];
  const bn = boxShape(box).reduce((a, c) => a * c, 1);
  const out = new Float32Array(classes * n);
  out.subarray(fill * n, (fill + 1) * n).fill(1);
  for (let c = 0; c < classes; c++) {
    pasteInto(p.subarray(c * bn, (c + 1) * bn), full, box, out.subarray(c * n, (c + 1) * n));
  }
  return out;
}
