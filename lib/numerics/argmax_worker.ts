/**
 * Worker for {@linkcode logitsToLabelsParallel}: resizes and argmaxes a range
 * of channels of shared logits.
 *
 * @module
 */
import { argmaxChannels, type ArgmaxJob } from "./argmax_kernel.ts";

/** The worker's global scope, typed without the worker lib (checked with the main program). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<ArgmaxJob>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e: MessageEvent<ArgmaxJob>) => {
  try {
    const j = e.data;
    const logits = new Float32Array(j.buffer, j.byteOffset, j.length);
    const part = argmaxChannels(logits, j.c0, j.c1, j.from, j.to);
    scope.postMessage(part, [part.best.buffer as ArrayBuffer, part.labels.buffer as ArrayBuffer]);
  } catch (err) {
    scope.postMessage({ error: (err as Error).message });
  }
};
