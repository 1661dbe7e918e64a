/**
 * The argmax kernel shared by {@linkcode logitsToLabelsParallel}'s main
 * thread and its worker (`argmax_worker.ts`), kept apart from `argmax.ts` so
 * the worker does not import the file that spawns it.
 *
 * @module
 */
import { Resizer } from "../geometry/resample.ts";
import type { Shape3 } from "../core/types.ts";

/** Running maximum and its class over a range of channels. */
export interface ArgmaxPart {
  best: Float32Array;
  labels: Uint8Array;
}

/**
 * Argmax over channels `[c0, c1)` of (C, z, y, x) logits, each channel first
 * resized from `from` to `to` (order 1, edge mode; linear interpolation never
 * leaves the input's range, so skimage's clip is a no-op and skipped).
 */
export function argmaxChannels(logits: Float32Array, c0: number, c1: number, from: Shape3, to: Shape3): ArgmaxPart {
  const fromN = from[0] * from[1] * from[2];
  const n = to[0] * to[1] * to[2];
  const same = from.every((s, k) => s === to[k]);
  const best = new Float32Array(n);
  const labels = new Uint8Array(n).fill(c0);
  const tmp = same ? undefined : new Float32Array(n);
  const resizer = same ? undefined : new Resizer(from, to, 1);
  for (let c = c0; c < c1; c++) {
    const ch = logits.subarray(c * fromN, (c + 1) * fromN);
    const r = resizer ? resizer.run(ch, tmp!, false) : ch;
    if (c === c0) {
      best.set(r);
      continue;
    }
    for (let i = 0; i < n; i++) {
      if (r[i] > best[i]) {
        best[i] = r[i];
        labels[i] = c;
      }
    }
  }
  return { best, labels };
}

/** Message to the argmax worker. */
export interface ArgmaxJob {
  buffer: SharedArrayBuffer;
  byteOffset: number;
  length: number;
  c0: number;
  c1: number;
  from: Shape3;
  to: Shape3;
}
