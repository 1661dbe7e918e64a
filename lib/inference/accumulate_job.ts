/**
 * The messages between the accumulator pool (`accumulate_pool.ts`)
 * and its workers (`accumulate_worker.ts`).
 *
 * @module
 */
import type { TileGeometry } from "./accumulate_kernel.ts";

/** First message to a worker: the shared accumulator and weights. */
export interface PoolInit {
  /** `init`. */
  kind: "init";
  /** The accumulator's (C, z, y, x) sums. */
  sum: SharedArrayBuffer;
  /** The tile weights (pz, py, px), shared. */
  weights: SharedArrayBuffer;
}

/** One tile's share for a worker. */
export interface AddJob {
  /** `add`. */
  kind: "add";
  /** Classes `[c0, c1)` of the tile, in order, from offset 0. */
  tile: SharedArrayBuffer;
  /** Float32 values of `tile` in use. */
  length: number;
  /** First class. */
  c0: number;
  /** End class (exclusive). */
  c1: number;
  /** Where the tile goes. */
  geometry: TileGeometry;
  /** Logits in (x, y, z) tensor order. */
  xyz: boolean;
}
