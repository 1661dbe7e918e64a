/**
 * The one logits accumulator shared by every tile of every fold.
 *
 * nnU-Net adds `logits * gaussian` and `gaussian` per tile, divides, and
 * averages folds. Here all folds add into the same float32 buffer and the
 * weights are summed once (they are the same for every fold), so memory
 * does not grow with the number of folds; the final division is by
 * `folds * weights`. For one fold this is nnU-Net's arithmetic exactly; for
 * several, the order of float32 additions differs (relative 1e-7).
 *
 * Where the runtime has WebAssembly SIMD and the whole fits in 4 GiB, the
 * sums live in a shared `WebAssembly.Memory` and tiles are added by the SIMD
 * kernels of `accumulate_wasm.ts` (the same sums, bit for bit); elsewhere by
 * the JavaScript loops of `accumulate_kernel.ts`. The sums' fresh pages are
 * touched once in order when the first tile is added (by every adding
 * thread, a range each): a page's fault costs more in a first write from the
 * scattered rows of a tile (docs/performance.md).
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { addRows, addXyzBlocks, type TileGeometry } from "./accumulate_kernel.ts";
import { AccumulatorPool } from "./accumulate_pool.ts";
import { AccumulatorMemory } from "./accumulate_wasm.ts";

/** Accumulates weighted tile logits over a padded (C, z, y, x) grid. */
export class LogitAccumulator {
  /** Number of classes (channels). */
  readonly classes: number;
  /** Padded grid shape. */
  readonly shape: Shape3;
  /** Sum of `logits * weight`, (C, z, y, x), float32. */
  readonly sum: Float32Array;
  /** Sum of weights, (z, y, x), summed during the first fold only. */
  readonly weights: Float32Array;
  /** Gaussian importance map of the patch. */
  readonly gaussian: Float32Array;
  #folds = 0;
  #finished = false;
  #touched = false;
  #pool?: AccumulatorPool;
  readonly #wasm?: AccumulatorMemory;

  /**
   * Allocates the accumulator (C × voxels float32). `options.wasm: false`
   * keeps the JavaScript kernel (for comparisons).
   */
  constructor(classes: number, shape: Shape3, gaussian: Float32Array, options: { wasm?: boolean } = {}) {
    this.classes = classes;
    this.shape = shape;
    const n = shape[0] * shape[1] * shape[2];
    this.#wasm = options.wasm === false ? undefined : AccumulatorMemory.create(classes, n, gaussian);
    // Shared memory, so postprocessing workers can read it without a copy.
    this.sum = this.#wasm?.sum ??
      (typeof SharedArrayBuffer === "function"
        ? new Float32Array(new SharedArrayBuffer(classes * n * 4))
        : new Float32Array(classes * n));
    this.weights = this.#wasm?.grid ?? new Float32Array(n);
    this.gaussian = gaussian;
  }

  /** Whether tiles are added by the WebAssembly SIMD kernels. */
  get simd(): boolean {
    return this.#wasm !== undefined;
  }

  /** Touches the sums' pages in order once, on this thread (the pool does it on its threads). */
  #touch(): void {
    if (this.#touched) return;
    this.#touched = true;
    if (!this.#pool) this.sum.fill(0);
  }

  /**
   * Splits the adds of {@linkcode LogitAccumulator.addTileThreaded} over
   * `threads` threads (this one and `threads - 1` workers); no effect with
   * fewer than 2 threads or 2 classes. Call {@linkcode LogitAccumulator.close}
   * when done.
   */
  startThreads(threads: number): void {
    if (this.#pool || this.#touched || threads < 2 || this.classes < 2) return;
    if (!(this.sum.buffer instanceof SharedArrayBuffer)) return;
    this.#pool = new AccumulatorPool(this.sum, this.gaussian, this.classes, threads - 1, this.#wasm);
    this.#touched = true;
  }

  /** Threads adding tiles (1 without {@linkcode LogitAccumulator.startThreads}). */
  get threads(): number {
    return this.#pool?.threads ?? 1;
  }

  /** Stops the worker threads, if any. */
  close(): void {
    this.#pool?.close();
    this.#pool = undefined;
  }

  /**
   * {@linkcode LogitAccumulator.addTile} (or, with `xyz`,
   * {@linkcode LogitAccumulator.addTileXyz}) on the threads of
   * {@linkcode LogitAccumulator.startThreads}: the same sums. `meanwhile`
   * runs on this thread while the workers add (after the add without them).
   */
  async addTileThreaded(
    logits: Float32Array,
    start: number[],
    patch: Shape3,
    xyz = false,
    meanwhile?: () => void,
  ): Promise<void> {
    if (!this.#pool) {
      if (xyz) this.addTileXyz(logits, start, patch);
      else this.addTile(logits, start, patch);
      return meanwhile?.();
    }
    this.#check(logits, patch, xyz);
    const weights = this.#folds === 0;
    // With the WebAssembly memory a worker adds the weights too; else this thread does, after the tile.
    const added = await this.#pool.add(logits, { shape: this.shape, start, patch }, xyz, weights, meanwhile);
    if (weights && !added) this.#addWeights(start, patch);
  }

  #check(logits: Float32Array, patch: Shape3, xyz: boolean): void {
    if (this.#finished) throw new Error("accumulator already finished");
    const [pz, py, px] = patch;
    if (logits.length !== this.classes * pz * py * px) {
      const dims = xyz ? `${px}x${py}x${pz}` : `${pz}x${py}x${px}`;
      throw new RangeError(`network returned ${logits.length} values, expected ${this.classes}x${dims}`);
    }
  }

  /** Folds completed so far. */
  get folds(): number {
    return this.#folds;
  }

  /** Adds one tile's logits (C, pz, py, px) at `start`. */
  addTile(logits: Float32Array, start: number[], patch: Shape3): void {
    this.#check(logits, patch, false);
    this.#touch();
    const geo = { shape: this.shape, start, patch };
    if (this.#wasm) this.#addWasm(logits, geo, false);
    else addRows(this.sum, logits, this.gaussian, geo, 0, this.classes);
    if (this.#folds === 0) this.#addWeights(start, patch);
  }

  /**
   * Adds one tile whose logits come from an (x, y, z) tensor, (C, px, py, pz)
   * with z fastest, without transposing them first (a copy of a 105-channel
   * 96³ tile would be 371 MB): the transposition is done in cache-line blocks
   * on the fly.
   */
  addTileXyz(logits: Float32Array, start: number[], patch: Shape3): void {
    this.#check(logits, patch, true);
    this.#touch();
    const geo = { shape: this.shape, start, patch };
    if (this.#wasm) this.#addWasm(logits, geo, true);
    else addXyzBlocks(this.sum, logits, this.gaussian, geo, 0, this.classes);
    if (this.#folds === 0) this.#addWeights(start, patch);
  }

  #addWasm(logits: Float32Array, geo: TileGeometry, xyz: boolean): void {
    const wasm = this.#wasm!;
    for (const [r0, r1] of wasm.rounds(this.classes)) {
      wasm.load(logits, r0, r1, r0);
      wasm.add(geo, r0, r1, r0, xyz);
    }
  }

  #addWeights(start: number[], patch: Shape3): void {
    if (this.#wasm) return this.#wasm.addWeights({ shape: this.shape, start, patch });
    const [pz, py, px] = patch;
    const [, ny, nx] = this.shape;
    const w = this.weights;
    const g = this.gaussian;
    let gi = 0;
    for (let z = 0; z < pz; z++) {
      for (let y = 0; y < py; y++) {
        let d = ((start[0] + z) * ny + start[1] + y) * nx + start[2];
        for (let x = 0; x < px; x++) w[d++] += g[gi++];
      }
    }
  }

  /** Marks the end of one fold's tiles. */
  endFold(): void {
    this.#folds++;
  }

  /**
   * {@linkcode LogitAccumulator.finish} on the threads of
   * {@linkcode LogitAccumulator.startThreads}, where the grid has no padding
   * and the sums are in WebAssembly memory (a range of classes per thread,
   * the same quotients); on this thread otherwise. Call before
   * {@linkcode LogitAccumulator.close}.
   */
  async finishThreaded(pad: [number, number][]): Promise<{ logits: Float32Array; shape: Shape3 }> {
    if (!this.#pool) return this.finish(pad);
    this.#startFinish();
    if (!(await this.#pool.divide(this.shape, pad))) return this.#divide(pad);
    return { logits: this.sum, shape: this.shape };
  }

  /** Marks the accumulator finished and scales the sums of weights by the fold count. */
  #startFinish(): void {
    if (this.#folds === 0) throw new Error("no fold was accumulated");
    if (this.#finished) throw new Error("accumulator already finished");
    this.#finished = true;
    const w = this.weights;
    if (this.#folds > 1) { for (let i = 0; i < w.length; i++) w[i] *= this.#folds; }
  }

  /**
   * Divides by the weights (times the fold count) and drops the padding, in
   * place: returns a view of (C, z, y, x) over the unpadded shape. The
   * accumulator cannot be used afterwards.
   */
  finish(pad: [number, number][]): { logits: Float32Array; shape: Shape3 } {
    this.#startFinish();
    return this.#divide(pad);
  }

  #divide(pad: [number, number][]): { logits: Float32Array; shape: Shape3 } {
    const [nz, ny, nx] = this.shape;
    const n = nz * ny * nx;
    const out = this.shape.map((s, k) => s - pad[k][0] - pad[k][1]) as Shape3;
    const on = out[0] * out[1] * out[2];
    const w = this.weights;
    const sum = this.sum;
    if (this.#wasm) {
      const floats = this.#wasm.divide(this.classes, this.shape, pad);
      return { logits: sum.subarray(0, floats), shape: out };
    }
    // Compaction: destinations never pass their sources, so in place is safe.
    let d = 0;
    for (let c = 0; c < this.classes; c++) {
      for (let z = 0; z < out[0]; z++) {
        for (let y = 0; y < out[1]; y++) {
          const wi = ((z + pad[0][0]) * ny + y + pad[1][0]) * nx + pad[2][0];
          const s = c * n + wi;
          for (let x = 0; x < out[2]; x++) sum[d++] = sum[s + x] / w[wi + x];
        }
      }
    }
    return { logits: sum.subarray(0, this.classes * on), shape: out };
  }
}
