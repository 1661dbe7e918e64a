/**
 * From averaged logits to labels: order-1 resize of each channel back to the
 * cropped shape, argmax (ties to the lowest class, like numpy), streaming one
 * channel at a time so only one extra channel is held per thread. When the
 * logits live in shared memory, channels are split over worker threads.
 *
 * @module
 */
import { type Shape3 } from "../core/types.ts";
import { argmaxChannels, type ArgmaxJob, type ArgmaxPart } from "./argmax_kernel.ts";

// moved to argmax_kernel.ts (so the worker does not import this file back)
export { argmaxChannels, type ArgmaxJob, type ArgmaxPart } from "./argmax_kernel.ts";

/** Merges parts over consecutive channel ranges (earlier parts win ties). */
export function mergeParts(parts: ArgmaxPart[]): Uint8Array {
  const [first, ...rest] = parts;
  const { best, labels } = first;
  for (const p of rest) {
    for (let i = 0; i < best.length; i++) {
      if (p.best[i] > best[i]) {
        best[i] = p.best[i];
        labels[i] = p.labels[i];
      }
    }
  }
  return labels;
}

function check(logits: Float32Array, classes: number, from: Shape3): void {
  if (classes > 256) throw new RangeError(`${classes} classes do not fit uint8 labels`);
  const fromN = from[0] * from[1] * from[2];
  if (logits.length !== classes * fromN) {
    throw new RangeError(`logits have ${logits.length} values, expected ${classes}x${fromN}`);
  }
}

/**
 * Argmax over channels of (C, z, y, x) logits after resizing each channel
 * from `from` to `to`. Returns uint8 labels of shape `to`.
 */
export function logitsToLabels(logits: Float32Array, classes: number, from: Shape3, to: Shape3): Uint8Array {
  check(logits, classes, from);
  return argmaxChannels(logits, 0, classes, from, to).labels;
}

/**
 * {@linkcode logitsToLabels} split over `threads` workers when the logits are
 * in a SharedArrayBuffer (the accumulator allocates them there); otherwise,
 * or with one thread, on this thread. Same result either way.
 */
export async function logitsToLabelsParallel(
  logits: Float32Array,
  classes: number,
  from: Shape3,
  to: Shape3,
  threads: number,
): Promise<Uint8Array> {
  check(logits, classes, from);
  const k = Math.min(threads, classes);
  if (k < 2 || !(logits.buffer instanceof SharedArrayBuffer)) {
    return argmaxChannels(logits, 0, classes, from, to).labels;
  }
  const bounds = Array.from({ length: k + 1 }, (_, i) => Math.round((i * classes) / k));
  const parts = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      new Promise<ArgmaxPart>((resolve, reject) => {
        const w = new Worker(new URL("./argmax_worker.ts", import.meta.url), { type: "module" });
        w.onmessage = (e: MessageEvent<ArgmaxPart | { error: string }>) => {
          w.terminate();
          if ("error" in e.data) reject(new Error(e.data.error));
          else resolve(e.data);
        };
        w.onerror = (e) => {
          e.preventDefault();
          w.terminate();
          reject(new Error(e.message));
        };
        const job: ArgmaxJob = {
          buffer: logits.buffer as SharedArrayBuffer,
          byteOffset: logits.byteOffset,
          length: logits.length,
          c0: bounds[i],
          c1: bounds[i + 1],
          from,
          to,
        };
        w.postMessage(job);
      })),
  );
  return mergeParts(parts);
}
