/**
 * Worker threads that share the weighted adds of each tile with the main
 * thread: the classes are split in ranges, this thread adds the first range
 * straight from the network's output while each worker adds its range from
 * a shared copy of those classes. The sum is the same as on one thread
 * (each voxel of each class gets one add per tile; see
 * `accumulate_kernel.ts`).
 *
 * @module
 */
import { addRows, addXyzBlocks, type TileGeometry } from "./accumulate_kernel.ts";
import type { AddJob, PoolInit } from "./accumulate_job.ts";

type Reply = { ok: true } | { error: string };

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

  send(message: PoolInit | AddJob): Promise<void> {
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
  #ready: Promise<void>;

  /** Starts `workers` threads on the shared `sum` ((C, z, y, x), `classes` channels) and tile `weights`. */
  constructor(sum: Float32Array, weights: Float32Array, classes: number, workers: number) {
    if (!(sum.buffer instanceof SharedArrayBuffer)) throw new TypeError("the accumulator is not in shared memory");
    this.#sum = sum;
    this.#classes = classes;
    const w = new Float32Array(new SharedArrayBuffer(weights.byteLength));
    w.set(weights);
    this.#weights = w;
    this.#workers = Array.from({ length: Math.max(0, Math.min(workers, classes - 1)) }, () => new PoolWorker());
    this.#ready = Promise.all(
      this.#workers.map((pw) =>
        pw.send({ kind: "init", sum: sum.buffer as SharedArrayBuffer, weights: w.buffer as SharedArrayBuffer })
      ),
    ).then(() => {});
  }

  /** Threads adding, this one included. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /** Adds classes of a (C, …) tile, split over the threads; resolves when every share is in. */
  async add(logits: Float32Array, geometry: TileGeometry, xyz: boolean): Promise<void> {
    await this.#ready;
    const k = this.#workers.length + 1;
    const pn = geometry.patch[0] * geometry.patch[1] * geometry.patch[2];
    const bounds = Array.from({ length: k + 1 }, (_, i) => Math.round((i * this.#classes) / k));
    const jobs = this.#workers.map((pw, i) => {
      const c0 = bounds[i + 1], c1 = bounds[i + 2];
      const length = (c1 - c0) * pn;
      if (!pw.tile || pw.tile.length < length) pw.tile = new Float32Array(new SharedArrayBuffer(length * 4));
      pw.tile.set(logits.subarray(c0 * pn, c1 * pn));
      return pw.send({ kind: "add", tile: pw.tile.buffer as SharedArrayBuffer, length, c0, c1, geometry, xyz });
    });
    // This thread's share, while the workers add theirs.
    (xyz ? addXyzBlocks : addRows)(this.#sum, logits, this.#weights, geometry, 0, bounds[1]);
    await Promise.all(jobs);
  }

  /** Stops the workers. */
  close(): void {
    for (const pw of this.#workers) pw.worker.terminate();
  }
}
