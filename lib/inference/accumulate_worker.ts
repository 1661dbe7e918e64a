/**
 * Worker of the accumulator pool (`accumulate_pool.ts`): adds a range of classes of a tile,
 * read from shared memory, into the shared accumulator; divides a range of classes at the end.
 *
 * @module
 */
import { addRows, addXyzBlocks } from "./accumulate_kernel.ts";
import type { AddJob, DivideJob, PoolInit } from "./accumulate_job.ts";
import { AccumulatorMemory } from "./accumulate_wasm.ts";

/** The worker's global scope, typed without the worker lib (checked with the main program). */
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<PoolInit | AddJob | DivideJob>) => void) | null;
  postMessage(message: unknown): void;
};

let sum: Float32Array | undefined;
let weights: Float32Array | undefined;
let wasm: AccumulatorMemory | undefined;

scope.onmessage = (e: MessageEvent<PoolInit | AddJob | DivideJob>) => {
  try {
    const m = e.data;
    if (m.kind === "init") {
      if (m.wasm) wasm = AccumulatorMemory.attach(m.wasm.memory, m.wasm.module, m.wasm.layout);
      // In WebAssembly memory, the sums and weights are regions of one buffer.
      sum = wasm?.sum ?? new Float32Array(m.sum);
      weights = wasm?.weights ?? new Float32Array(m.weights);
      sum.fill(0, m.prefault[0], m.prefault[1]);
      scope.postMessage({ ok: true });
      return;
    }
    if (m.kind === "divide") {
      wasm!.divideClasses(m.c0, m.c1, m.shape);
      scope.postMessage({ ok: true });
      return;
    }
    if (!m.tile) {
      if (m.c1 > m.c0) wasm!.add(m.geometry, m.c0, m.c1, m.first ?? m.c0, m.xyz);
      if (m.weights) wasm!.addWeights(m.geometry);
      scope.postMessage({ ok: true });
      return;
    }
    // The shared tile holds classes [c0, c1) only.
    const tile = new Float32Array(m.tile, 0, m.length);
    (m.xyz ? addXyzBlocks : addRows)(sum!, tile, weights!, m.geometry, m.c0, m.c1, m.c0);
    scope.postMessage({ ok: true });
  } catch (err) {
    scope.postMessage({ error: (err as Error).message });
  }
};
