/**
 * The one tile loop: every fold of an ensemble runs over the tiles of a
 * {@linkcode WindowPlan} (a whole volume is one tile) and adds its weighted
 * outputs into one {@linkcode LogitAccumulator}. Multi-channel images are
 * (C, z, y, x); networks whose tensors are (x, y, z) get each tile with its
 * axes reversed. Folds may come lazily (an async iterable), so only one
 * network needs to be loaded at a time.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { LogitAccumulator } from "./ensemble.ts";
import { extractTile, padVolume, type TilePredictor, type TileProgress } from "./tiling.ts";
import type { WindowPlan } from "./window.ts";
import { mirrored } from "./mirror.ts";
import { releaseBuffer } from "../core/bytes.ts";

/** One network of the ensemble: its class count and its tile function. */
export interface Fold {
  /** Output channels. */
  classes: number;
  /** Runs one tile. */
  predict: TilePredictor;
  /** A name for progress messages. */
  name?: string;
  /**
   * Each `predict` call returns a new array that nothing else holds (as
   * ONNX Runtime's copies are): the loop then frees it as soon as it is
   * added, instead of leaving up to a tile of logits (0.9 GB for SIAM's
   * full-size tile) to V8's next collection, during the next network call.
   * @default false
   */
  freshOutputs?: boolean;
}

/** Progress of {@linkcode runWindows}. */
export interface FoldProgress extends TileProgress {
  /** Fold index (0-based). */
  fold: number;
  /** Number of folds, when known. */
  folds?: number;
  /** The fold's name. */
  name?: string;
}

/** Options for {@linkcode runWindows}. */
export interface WindowRunOptions {
  /** Called after every tile of every fold. */
  onTile?: (p: FoldProgress) => void;
  /** Stops between tiles when aborted. */
  signal?: AbortSignal;
  /** Number of folds, for progress only. */
  folds?: number;
  /**
   * Start the next tile's network call before adding the current one (hides
   * accumulation behind a GPU; costs one more tile of logits in memory).
   * @default false
   */
  overlap?: boolean;
  /** The network's spatial axis order. @default "zyx" */
  layout?: "zyx" | "xyz";
  /**
   * Test-time mirroring: each tile runs 8 times (flipped along every subset
   * of the axes) and the outputs are averaged before the weighting
   * (see `mirror.ts`). @default false
   */
  tta?: boolean;
  /**
   * Threads adding the weighted tiles (this one and worker threads sharing
   * the classes; same sums as one thread). @default 1
   */
  accumulateThreads?: number;
}

/** The fold-averaged network output. */
export interface Logits {
  /** (C, z, y, x) over the unpadded shape, fold-averaged. */
  logits: Float32Array;
  /** Output channels. */
  classes: number;
  /** Tiles per fold. */
  tiles: number;
  /** Seconds spent inside the networks. */
  inferenceSeconds: number;
  /** How the weighted tiles were added: by the WebAssembly SIMD kernels or the JavaScript ones, on how many threads. */
  adds: TileAdds;
}

/** How a run's weighted tiles were added into the accumulator. */
export interface TileAdds {
  /** `wasm-simd` (WebAssembly SIMD kernels on shared memory) or `javascript` (where SIMD or shared memory is missing, or the sums pass 4 GiB). */
  kernel: "wasm-simd" | "javascript";
  /** Threads sharing each tile's adds (this one included). */
  threads: number;
}

/** Pads every channel of a (C, z, y, x) image as the plan says. */
export function padChannels(
  image: Float32Array,
  channels: number,
  shape: Shape3,
  plan: Pick<WindowPlan, "pad" | "padding">,
): Float32Array {
  const pad = plan.pad;
  if (pad.every(([a, b]) => a === 0 && b === 0)) return image;
  const n = shape[0] * shape[1] * shape[2];
  if (channels === 1) return padVolume(image.subarray(0, n), shape, pad, plan.padding).data;
  let out: Float32Array | undefined;
  for (let c = 0; c < channels; c++) {
    const p = padVolume(image.subarray(c * n, (c + 1) * n), shape, pad, plan.padding);
    out ??= new Float32Array(channels * p.data.length);
    out.set(p.data, c * p.data.length);
  }
  return out!;
}

/**
 * Reverses the spatial axes of a (C, a, b, c) array into (C, c, b, a): the
 * (z, y, x) storage to an (x, y, z) tensor and back.
 */
export function reverseAxes(data: Float32Array, channels: number, shape: Shape3, out?: Float32Array): Float32Array {
  const [a, b, c] = shape;
  const n = a * b * c;
  const res = out ?? new Float32Array(channels * n);
  for (let ch = 0; ch < channels; ch++) {
    const base = ch * n;
    let i = base;
    for (let z = 0; z < a; z++) {
      for (let y = 0; y < b; y++) {
        for (let x = 0; x < c; x++, i++) res[base + (x * b + y) * a + z] = data[i];
      }
    }
  }
  return res;
}

/**
 * Runs every fold over the plan's tiles of a (C, z, y, x) image of `shape`
 * and returns the fold-averaged, weighted outputs cropped back to `shape`.
 */
export async function runWindows(
  image: Float32Array,
  channels: number,
  shape: Shape3,
  plan: WindowPlan,
  folds: Iterable<Fold> | AsyncIterable<Fold>,
  options: WindowRunOptions = {},
): Promise<Logits> {
  const padded = padChannels(image, channels, shape, plan);
  const ps = plan.paddedShape, ts = plan.tileShape, tiles = plan.tiles;
  const pn = ps[0] * ps[1] * ps[2];
  const tn = ts[0] * ts[1] * ts[2];
  const xyz = options.layout === "xyz";
  const tensorShape: Shape3 = xyz ? [ts[2], ts[1], ts[0]] : ts;
  // Two input buffers: the next tile is cut out while this thread adds the
  // previous one (with `overlap`, its network call runs meanwhile too).
  const buffers = [0, 1].map(() => new Float32Array(channels * tn));
  const tensors = xyz ? [0, 1].map(() => new Float32Array(channels * tn)) : buffers;
  let acc: LogitAccumulator | undefined;
  let seconds = 0;
  let index = 0;
  try {
    for await (const fold of folds) {
      if (!acc) {
        acc = new LogitAccumulator(fold.classes, ps, plan.weights);
        acc.startThreads(options.accumulateThreads ?? 1);
      }
      if (fold.classes !== acc.classes) {
        throw new Error(`fold ${fold.name ?? index} has ${fold.classes} classes, the first had ${acc.classes}`);
      }
      const fresh = fold.freshOutputs ?? false;
      const predict = options.tta ? mirrored(fold.predict, channels, fresh) : fold.predict;
      // A tile's input is cut out (`prepare`) before its network call starts (`start`); on the CPU, while the
      // workers add the tile before.
      const prepare = (t: number) => {
        options.signal?.throwIfAborted();
        const buf = buffers[t % 2];
        for (let c = 0; c < channels; c++) {
          extractTile(padded.subarray(c * pn, (c + 1) * pn), ps, tiles[t], ts, buf.subarray(c * tn, (c + 1) * tn));
        }
        if (xyz) reverseAxes(buf, channels, ts, tensors[t % 2]);
      };
      const start = (t: number) => {
        const t0 = performance.now();
        const call = predict(tensors[t % 2], tensorShape).then((out) => ({
          out,
          seconds: (performance.now() - t0) / 1000,
        }));
        // Awaited below; a failure while a threaded add is in flight is not unhandled.
        call.catch(() => {});
        return call;
      };
      const launch = (t: number) => {
        prepare(t);
        return start(t);
      };
      let pending = launch(0);
      for (let t = 0; t < tiles.length; t++) {
        const { out, seconds: s } = await pending;
        seconds += s;
        const more = t + 1 < tiles.length;
        if (more && options.overlap) pending = launch(t + 1);
        const next = more && !options.overlap;
        await acc.addTileThreaded(out, tiles[t], ts, xyz, next ? () => prepare(t + 1) : undefined);
        if (fresh) releaseBuffer(out);
        if (next) pending = start(t + 1);
        options.onTile?.({
          tile: t + 1,
          tiles: tiles.length,
          seconds: s,
          fold: index,
          folds: options.folds,
          name: fold.name,
        });
      }
      acc.endFold();
      index++;
    }
    if (!acc) throw new Error("no model to run");
    const { logits } = await acc.finishThreaded(plan.pad);
    const adds: TileAdds = { kernel: acc.simd ? "wasm-simd" : "javascript", threads: acc.threads };
    return { logits, classes: acc.classes, tiles: tiles.length, inferenceSeconds: seconds, adds };
  } finally {
    acc?.close();
  }
}
