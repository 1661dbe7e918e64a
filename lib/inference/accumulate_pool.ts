/**
 * Worker threads that share the weighted adds of each tile with the main
 * thread: the classes are split in ranges, this thread adds the first range
 * straight from the network's output while each worker adds its range from
 * a shared copy of those classes. With the accumulator in WebAssembly
 * memory (`accumulate_wasm.ts`), this thread copies the tile into the
 * memory's tile region instead, a round of classes at a time, and every
 * thread adds a range of each round with the SIMD kernels. The sum is the
 * same as on one thread (each voxel of each class gets one add per tile;
 * see `accumulate_kernel.ts`). At the first tile the threads touch the
 * accumulator's fresh pages, each a contiguous range.
 *
 * @module
 */
import { addRows, addXyzBlocks, type TileGeometry } from "./accumulate_kernel.ts";
import type { AddJob, DivideJob, PoolInit } from "./accumulate_job.ts";
import type { AccumulatorMemory } from "./accumulate_wasm.ts";

type Reply = { ok: true } | { error: string };

/**
 * Classes of a tile's first round that the workers take over from this
 * thread while it runs an add's `meanwhile` (the next tile's extraction).
 */
export const MEANWHILE_CLASSES = 1;

/** `parts + 1` boundaries splitting `[from, to)` into `parts` ranges as even as whole numbers allow. */
function evenCuts(from: number, to: number, parts: number): number[] {
  return Array.from({ length: parts + 1 }, (_, i) => from + Math.round((i * (to - from)) / parts));
}

/** A worker and the promise of its current job. */
class PoolWorker {
  readonly worker: Worker;
  #pending?: { resolve: () => void; reject: (e: Error) => void };
  #failed?: Error;
  tile?: Float32Array;

  constructor() {
    this.worker = new Worker(new URL("./accumulate_worker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const p = this.#pending;
      this.#pending = undefined;
      if ("error" in e.data) p?.reject(new Error(e.data.error));
      else p?.resolve();
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.#failed = new Error(`accumulator worker: ${e.message}`);
      this.#pending?.reject(this.#failed);
      this.#pending = undefined;
    };
  }

  send(message: PoolInit | AddJob | DivideJob): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.worker.postMessage(message);
    });
  }
}

/**
 * `workers` threads adding into one shared accumulator, with this thread
 * doing the first share. Call {@linkcode AccumulatorPool.close} when done.
 */
export class AccumulatorPool {
  readonly #workers: PoolWorker[];
  readonly #sum: Float32Array;
  readonly #weights: Float32Array;
  readonly #classes: number;
  readonly #wasm?: AccumulatorMemory;
  #ready?: Promise<void>;

  /**
   * Starts `workers` threads on the shared `sum` ((C, z, y, x), `classes`
   * channels) and tile `weights` (or on `wasm`, whose `sum` it is).
   */
  constructor(sum: Float32Array, weights: Float32Array, classes: number, workers: number, wasm?: AccumulatorMemory) {
    if (!(sum.buffer instanceof SharedArrayBuffer)) throw new TypeError("the accumulator is not in shared memory");
    this.#sum = sum;
    this.#classes = classes;
    this.#wasm = wasm;
    let w = wasm?.weights;
    if (!w) {
      w = new Float32Array(new SharedArrayBuffer(weights.byteLength));
      w.set(weights);
    }
    this.#weights = w;
    this.#workers = Array.from({ length: Math.max(0, Math.min(workers, classes - 1)) }, () => new PoolWorker());
  }

  /**
   * Starts the workers on the memory and touches the sums' pages, a
   * contiguous range per thread: at the first tile, after its network call
   * (a one-tile run's network then peaks without the accumulator resident,
   * as it would with the pages faulted in by the adds).
   */
  #start(): Promise<void> {
    const sum = this.#sum, wasm = this.#wasm;
    const from = sum.byteOffset / 4;
    const cut = evenCuts(from, from + sum.length, this.#workers.length + 1);
    const shared = wasm ? { memory: wasm.memory, module: wasm.module, layout: wasm.layout } : undefined;
    const ready = Promise.all(
      this.#workers.map((pw, i) =>
        pw.send({
          kind: "init",
          sum: sum.buffer as SharedArrayBuffer,
          weights: this.#weights.buffer as SharedArrayBuffer,
          wasm: shared,
          prefault: [cut[i + 1], cut[i + 2]],
        })
      ),
    ).then(() => {});
    // This thread's range while the workers touch theirs.
    sum.subarray(0, cut[1] - from).fill(0);
    return ready;
  }

  /** Threads adding, this one included. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /**
   * Adds classes of a (C, …) tile, split over the threads; resolves when
   * every share is in. With `weights` and the WebAssembly memory, the last
   * worker adds the tile weights into the grid's sums of weights too:
   * resolves to whether a worker did. `meanwhile` runs on this thread once
   * the workers have their first shares (the next tile's extraction), and
   * this thread then takes {@linkcode MEANWHILE_CLASSES} fewer classes of
   * that round; what it throws is thrown once every share is in.
   */
  async add(
    logits: Float32Array,
    geometry: TileGeometry,
    xyz: boolean,
    weights = false,
    meanwhile?: () => void,
  ): Promise<boolean> {
    await (this.#ready ??= this.#start());
    const k = this.#workers.length + 1;
    const wasm = this.#wasm;
    let failed: { error: unknown } | undefined;
    const aside = () => {
      try {
        meanwhile?.();
      } catch (error) {
        failed = { error };
      }
      meanwhile = undefined;
    };
    if (wasm) {
      for (const [r0, r1] of wasm.rounds(this.#classes)) {
        // Each worker's range of the round into the tile region, then the job, so that it adds while this thread
        // copies the next range; this thread's range last.
        const cut = evenCuts(r0, r1, k);
        if (meanwhile) cut[1] = Math.max(r0, cut[1] - MEANWHILE_CLASSES);
        const last = r0 === 0 && weights ? this.#workers.length - 1 : -1;
        const jobs = this.#workers.map((pw, i) => {
          const c0 = cut[i + 1], c1 = cut[i + 2];
          if (c0 === c1 && i !== last) return Promise.resolve();
          wasm.load(logits, c0, c1, r0);
          return pw.send({ kind: "add", length: 0, c0, c1, first: r0, geometry, xyz, weights: i === last });
        });
        aside();
        if (cut[1] > cut[0]) {
          wasm.load(logits, cut[0], cut[1], r0);
          wasm.add(geometry, cut[0], cut[1], r0, xyz);
        }
        await Promise.all(jobs);
      }
      if (failed) throw failed.error;
      return weights && this.#workers.length > 0;
    }
    const pn = geometry.patch[0] * geometry.patch[1] * geometry.patch[2];
    const bounds = evenCuts(0, this.#classes, k);
    const jobs = this.#workers.map((pw, i) => {
      const c0 = bounds[i + 1], c1 = bounds[i + 2];
      const length = (c1 - c0) * pn;
      if (!pw.tile || pw.tile.length < length) pw.tile = new Float32Array(new SharedArrayBuffer(length * 4));
      pw.tile.set(logits.subarray(c0 * pn, c1 * pn));
      return pw.send({ kind: "add", tile: pw.tile.buffer as SharedArrayBuffer, length, c0, c1, geometry, xyz });
    });
    // This thread's share, while the workers add theirs.
    aside();
    (xyz ? addXyzBlocks : addRows)(this.#sum, logits, this.#weights, geometry, 0, bounds[1]);
    await Promise.all(jobs);
    if (failed) throw failed.error;
    return false;
  }

  /**
   * The final division on every thread, a range of classes each, where it
   * can be done so: with the WebAssembly memory, and a grid without padding
   * (each class divided in place, apart from the others). Resolves to false,
   * having done nothing, otherwise (the caller then divides on this thread).
   */
  async divide(
    shape: readonly [number, number, number],
    pad: readonly (readonly [number, number])[],
  ): Promise<boolean> {
    const wasm = this.#wasm;
    if (!wasm || !this.#ready || pad.some(([a, b]) => a !== 0 || b !== 0)) return false;
    await this.#ready;
    const cut = evenCuts(0, this.#classes, this.#workers.length + 1);
    const jobs = this.#workers.map((pw, i) =>
      cut[i + 2] > cut[i + 1]
        ? pw.send({ kind: "divide", c0: cut[i + 1], c1: cut[i + 2], shape: [...shape] as [number, number, number] })
        : Promise.resolve()
    );
    wasm.divideClasses(cut[0], cut[1], shape);
    await Promise.all(jobs);
    return true;
  }

  /** Stops the workers. */
  close(): void {
    for (const pw of this.#workers) pw.worker.terminate();
  }
}
