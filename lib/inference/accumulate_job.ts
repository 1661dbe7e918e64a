/**
 * The messages between the accumulator pool (`accumulate_pool.ts`)
 * and its workers (`accumulate_worker.ts`).
 *
 * @module
 */
import type { TileGeometry } from "./accumulate_kernel.ts";
import type { AccumulatorLayout } from "./accumulate_wasm.ts";

/** First message to a worker: the shared accumulator and weights. */
export interface PoolInit {
  /** `init`. */
  kind: "init";
  /** The accumulator's (C, z, y, x) sums (with `wasm`, the memory's buffer: the layout says where). */
  sum: SharedArrayBuffer;
  /** The tile weights (pz, py, px), shared (with `wasm`, the memory's buffer). */
  weights: SharedArrayBuffer;
  /** The accumulator's WebAssembly memory and kernel, where it has them (`sum` is then the memory's buffer). */
  wasm?: { memory: WebAssembly.Memory; module: WebAssembly.Module; layout: AccumulatorLayout };
  /** Floats `[from, to)` of `sum` this worker touches first, in order (its share of the prefault). */
  prefault: [number, number];
}

/** One tile's share for a worker. */
export interface AddJob {
  /** `add`. */
  kind: "add";
  /**
   * Classes `[c0, c1)` of the tile, in order, from offset 0; undefined: the
   * classes are in the WebAssembly memory's tile region, at their place.
   */
  tile?: SharedArrayBuffer;
  /** Float32 values of `tile` in use. */
  length: number;
  /** First class. */
  c0: number;
  /** End class (exclusive). */
  c1: number;
  /** With the WebAssembly memory: the class at the start of its tile region. */
  first?: number;
  /** With the WebAssembly memory: add the tile weights into the grid's sums of weights too. */
  weights?: boolean;
  /** Where the tile goes. */
  geometry: TileGeometry;
  /** Logits in (x, y, z) tensor order. */
  xyz: boolean;
}

/**
 * A worker's share of the final division (WebAssembly memory, a grid
 * without padding): classes `[c0, c1)` divided in place by the grid's sums
 * of weights.
 */
export interface DivideJob {
  /** `divide`. */
  kind: "divide";
  /** First class. */
  c0: number;
  /** End class (exclusive). */
  c1: number;
  /** The grid (z, y, x). */
  shape: readonly [number, number, number];
}
