/**
 * The whole run: read, preprocess, run every fold through ONNX Runtime into
 * one accumulator, postprocess. {@linkcode Segmenter} keeps its sessions
 * between inputs (batch mode, notebooks); {@linkcode segment} is the
 * one-shot form.
 *
 * @module
 */
import type { Compute, Shape3, Volume } from "../core/types.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { type ClassInfo, type ModelCard } from "../cards/card.ts";
import { choosePatch } from "../cards/rules.ts";
import { readChannels, splitChannels } from "./channels.ts";
import { readVolume } from "../io/read.ts";
import { rewriteForProvider } from "../engine/passes/rewrites.ts";
import { type Backend, defaultThreads, type NetworkSession, ortBackend } from "../engine/ort.ts";
import type { Fold, TileAdds } from "../inference/sliding_window.ts";
import { finish, predict, prepare, type Prepared } from "./pipeline.ts";
import { makePlan, type Plan, type PlanOptions } from "./plan.ts";
import { tissueVolumes, type VolumeRow } from "../outputs/volumes.ts";
import type { DownloadProgress } from "../cards/download.ts";
import { fetchModel, missingModelError, type ModelFile, type ResolvedModel, resolveModels } from "../cards/weights.ts";
import { cacheDir } from "../core/cache_dir.ts";
import { sha256Hex } from "../core/_std.ts";
import { releaseBuffer } from "../core/bytes.ts";

/** Options of a segmentation, named like siamize's long flags. */
export interface SegmentOptions extends PlanOptions {
  /**
   * Models as `-M`: fold digits (`0`-`4`), `"all"`, file names in the cache,
   * or paths to `.onnx` files; an array or one comma-separated string.
   * @default "0"
   */
  models?: string | string[];
  /** Execution provider. @default "auto" */
  compute?: Compute;
  /** GPU device id. @default 0 */
  gpu?: number;
  /** Disable ONNX Runtime's CPU memory arena. @default true on CPU (see README) */
  noArena?: boolean;
  /** Weights cache folder. @default $SIAMIZE_CACHE_DIR or ~/.cache/siamize/models */
  cacheDir?: string;
  /** Download missing fold weights into the cache. @default true */
  download?: boolean;
  /** Download progress. */
  onDownload?: (p: DownloadProgress) => void;
  /** One-line messages (provider fallback, what happens). */
  log?: (message: string) => void;
  /**
   * Messages worth showing only on request (`-v`): `auto` falling back to the
   * CPU where no GPU provider is installed, the load-time graph rewrites. @default log
   */
  detail?: (message: string) => void;
  /** Log which nodes of a GPU warm-up run were not on the GPU (`-v`). @default false */
  checkPlacement?: boolean;
  /** Progress after every tile. */
  onProgress?: (p: Progress) => void;
  /** Called as each stage starts (`-v` prints them). */
  onStage?: (stage: Stage) => void;
  /**
   * Cancels at the next stage or tile boundary (the pending promise rejects
   * with the signal's reason; a network call already running finishes first).
   */
  signal?: AbortSignal;
  /**
   * Keep every fold's session open after its tiles, for the next input (a
   * batch). `false` releases each fold's session once its tiles are done,
   * so only one network is resident at a time (a one-shot run).
   * @default true for a {@linkcode Segmenter}; false for {@linkcode segment}
   */
  keepSessions?: boolean;
  /** Backend creating the sessions (tests inject one). @default ONNX Runtime */
  backend?: Backend;
  /**
   * Available memory in bytes, for the automatic patch choice on the CPU
   * when no patch is given. @default the system's available memory
   */
  availableMemory?: () => number;
  /**
   * Factor on the card's peak-memory estimate in that choice. A process whose
   * glibc allocator keeps every freed block on its heap (the CLI's malloc
   * tuning where the kernel has no transparent huge pages) peaks higher on a
   * full-size tile, as the freed blocks fragment: the CLI passes
   * `mallocPeakScale()` (`TUNED_PEAK_SCALE` then, else 1). @default 1
   */
  peakScale?: number;
}

/** Stages of a segmentation, in order. */
export type Stage = "read" | "load" | "preprocess" | "inference" | "postprocess";

/** What each stage does, in words (`-v` and the `siamize view` page print these). */
export const STAGE_TEXT: Record<Stage, string> = {
  read: "reading the input",
  load: "loading the model",
  preprocess: "preprocessing (reorient, crop, normalise, resample)",
  inference: "inference",
  postprocess: "postprocessing (resample back, argmax)",
};

/** Progress report. */
export interface Progress {
  /** Fold index and count. */
  fold: number;
  /** Number of folds. */
  folds: number;
  /** Tile index (1-based) and count per fold. */
  tile: number;
  /** Tiles per fold. */
  tiles: number;
}

/** Seconds per stage. */
export interface Timings {
  /** Reading the input. */
  read: number;
  /** Model loading (and load-time graph rewrites) — zero when sessions were reused. */
  load: number;
  /** Stages 1-4 (reorient, crop, z-score, resample). */
  preprocess: number;
  /** Sum of network runs. */
  inference: number;
  /** The tile loop outside the networks: tile extraction, adding weighted logits, the final division (stages 5-6). */
  accumulate: number;
  /** Stage 7 (resample back, argmax, probabilities). */
  postprocess: number;
  /** The whole call. */
  total: number;
}

/** What a segmentation returns. */
export interface SegmentResult {
  /** Labels (uint8) on the input grid, or the working grid with `upsample`. */
  labels: Volume;
  /** Probabilities (X, Y, Z, classes) float32, with `tpm`. */
  probabilities?: Volume;
  /** The input scan as read. */
  input: Volume;
  /** Volume per class (mL) and total intracranial volume, on the output grid. */
  volumes: VolumeRow;
  /** The label table (index, name, abbreviation, colour, BIDS label). */
  labelTable: ClassInfo[];
  /** Provider that ran the networks. */
  provider: string;
  /** The GPU adapter (WebGPU), when known. */
  adapter?: string;
  /** CPU threads given to ONNX Runtime. */
  threads: number;
  /** Patch used (z, y, x). */
  patch: Shape3;
  /** Tiles per fold, and the models run. */
  tiles: number;
  /** The tile step (fraction of the patch); undefined for whole-volume cards. */
  step?: number;
  /** Whether each tile ran mirrored (8 network passes, `tta`). */
  tta: boolean;
  /** How the weighted tiles were added (kernel and threads). */
  adds: TileAdds;
  /** Paths of the models run. */
  models: string[];
  /** The model files run, in order, with their SHA-256 (hashed once per file, when its session is made). */
  modelFiles: ModelFile[];
  /** Canonical crop box, cropped and resampled shapes (z, y, x). */
  geometry: { box: number[][]; cropped: Shape3; resampled: Shape3; spacing: Shape3; nonFinite: number };
  /** Seconds per stage. */
  timings: Timings;
}

const now = () => performance.now() / 1000;

/** A prefetched input: read and preprocessed ahead of its turn. */
interface Prefetched {
  volume: Volume;
  prep: Prepared;
  read: number;
  preprocess: number;
}

/** What running the folds recorded (see {@linkcode Segmenter.folds}). */
export interface FoldRun {
  /** Seconds spent opening sessions. */
  load: number;
  /** Provider that ran the last fold. */
  provider: string;
  /** Its GPU adapter (WebGPU), when known. */
  adapter?: string;
}

function systemAvailable(): number {
  try {
    return Deno.systemMemoryInfo().available;
  } catch {
    return Infinity; // no --allow-sys: cannot tell, keep the default
  }
}

/**
 * A configured segmenter: sessions are created on first use and kept for
 * later inputs until {@linkcode Segmenter.close}. See
 * {@linkcode createSegmenter} for an example.
 */
export class Segmenter {
  /** The options it was made with. */
  readonly options: SegmentOptions;
  /** The validated plan (card, patch, spacing, merge, output grid). */
  readonly plan: Plan;
  /** The model card in use. */
  readonly card: ModelCard;
  /** Patch (z, y, x) in use. */
  patch: Shape3;
  /** Paths of the models run. */
  readonly models: ResolvedModel[];
  /** CPU threads given to ONNX Runtime. */
  readonly threads: number;
  #sessions: NetworkSession[] = [];
  #hashes: string[] = [];
  #patchChecked = false;
  #prefetched = new Map<string, Promise<Prefetched>>();
  #backend: Backend;

  /** Makes the plan (every option/card conflict is a usage error here) and resolves the model paths, loading nothing. */
  constructor(options: SegmentOptions = {}) {
    this.options = options;
    this.plan = makePlan(options);
    this.card = this.plan.card;
    this.patch = [...this.plan.patch];
    const specs = options.models === undefined
      ? ["0"]
      : typeof options.models === "string"
      ? [options.models]
      : options.models;
    this.models = resolveModels(specs, this.card, options.cacheDir ?? cacheDir());
    this.threads = options.threads ?? defaultThreads();
    this.#backend = options.backend ?? ortBackend;
  }

  /**
   * Makes sure every model file is there before any work starts, downloading
   * missing cache entries (unless `download` is false); throws the one-line
   * "not in the cache" error otherwise.
   */
  async ensureModels(): Promise<void> {
    for (const m of this.models) {
      let present = false;
      try {
        const st = await Deno.stat(m.path);
        if (!st.isFile) throw new SiamizeError(`${m.path}: not a file`, 66);
        present = true;
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
      }
      if (present) continue;
      if (!m.fromCache || this.options.download === false) throw missingModelError(m);
      if (!this.card.weights.urls.default) {
        throw missingModelError(m, `the ${this.card.name} card has no download URL (export the weights: see README)`);
      }
      this.options.log?.(`downloading ${m.name} into ${m.path}`);
      await fetchModel(m, this.card, {
        compute: this.options.compute,
        onProgress: this.options.onDownload,
        log: this.options.log,
        signal: this.options.signal,
      });
    }
  }

  /** The k-th network's session, created on first use (checked against the card). */
  session(k: number): Promise<NetworkSession> {
    return this.#session(k);
  }

  /**
   * The folds as a lazy sequence, one session opened at a time; records the
   * seconds spent opening sessions and the provider (and adapter) that ran
   * them into `run`.
   */
  async *folds(run: FoldRun): AsyncGenerator<Fold> {
    for (let k = 0; k < this.models.length; k++) {
      const t = now();
      const s = await this.#session(k);
      run.load += now() - t;
      run.provider = s.provider;
      run.adapter = s.adapter;
      yield {
        classes: s.classes,
        name: this.models[k].name,
        predict: (tile, patch) => s.run(tile, patch),
        // Both runtimes copy each output into a new array.
        freshOutputs: true,
      };
      // The tile loop asks for the next fold only once this one's tiles are done.
      if (!this.keepSessions) {
        delete this.#sessions[k];
        await s.release();
      }
    }
  }

  /** Whether sessions stay open between folds and inputs (see {@linkcode SegmentOptions.keepSessions}). */
  get keepSessions(): boolean {
    return this.options.keepSessions ?? true;
  }

  async #session(k: number): Promise<NetworkSession> {
    if (this.#sessions[k]) return this.#sessions[k];
    const m = this.models[k];
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(m.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) throw missingModelError(m);
      throw new SiamizeError(`${m.path}: cannot read model (${(e as Error).message})`, 66);
    }
    // The bytes that will run, hashed while they are in memory anyway.
    this.#hashes[k] = await sha256Hex(bytes);
    const log = this.options.log ?? (() => {});
    const rewritten: Uint8Array[] = [];
    const s = await this.#backend.create({
      model: bytes,
      label: m.path,
      forProvider: (provider) => {
        let r;
        try {
          r = rewriteForProvider(bytes, provider);
        } catch (e) {
          throw new SiamizeError(`${m.path}: not a valid ONNX model (${(e as Error).message.split("\n")[0]})`, 65);
        }
        if (r.bytes !== bytes) rewritten.push(r.bytes);
        if (r.steps.length) {
          (this.options.detail ?? log)(
            `${m.name}: graph rewritten for ${provider} (${r.steps.join("; ")}; ${r.seconds.toFixed(1)} s)`,
          );
        }
        return r.bytes;
      },
    }, {
      compute: this.options.compute,
      gpu: this.options.gpu,
      threads: this.threads,
      noArena: this.options.noArena ?? true,
      log,
      detail: this.options.detail,
      // The smallest tile of at least 16 voxels per axis the network accepts.
      warmup: this.card.patchMultiple.map((m) => Math.ceil(16 / m) * m) as Shape3,
      placement: this.options.checkPlacement,
    }).finally(() => {
      // The runtime holds its own copy of the weights now; the file's bytes and
      // their rewrites would otherwise stay until V8's next collection.
      for (const b of [bytes, ...rewritten]) releaseBuffer(b);
    });
    const input = this.card.input.name, output = this.card.output.name;
    if (s.inputName !== input || s.outputName !== output) {
      log(
        `${m.name}: model I/O is ${s.inputName} -> ${s.outputName} (card says ${input} -> ${output}); using the model's names`,
      );
    }
    if (s.inputChannels !== undefined && s.inputChannels !== this.card.input.channels) {
      await s.release();
      throw new SiamizeError(
        `${m.path}: model takes ${s.inputChannels} input channel(s), the ${this.card.name} card has ${this.card.input.channels}`,
        65,
      );
    }
    if (s.classes !== this.card.classes.length) {
      await s.release();
      throw new SiamizeError(
        `${m.path}: model has ${s.classes} output classes, the ${this.card.name} card has ${this.card.classes.length}`,
        65,
      );
    }
    this.#sessions[k] = s;
    return s;
  }

  /**
   * Starts reading and preprocessing a file in the background, so that a
   * later `segment(path)` finds it ready (a batch prefetches the next input
   * while the current one runs through the network). Errors surface in that
   * `segment()` call.
   */
  prefetch(path: string): void {
    if (this.#prefetched.has(path)) return;
    const job = (async (): Promise<Prefetched> => {
      await new Promise((r) => setTimeout(r, 0));
      const t0 = now();
      const volume = await this.#read(path);
      const t1 = now();
      // The patch does not enter preparation.
      const prep = prepare(volume, this.card, this.plan.spacing, path);
      return { volume, prep, read: t1 - t0, preprocess: now() - t1 };
    })();
    job.catch(() => {});
    this.#prefetched.set(path, job);
  }

  /** Reads an input: one file, or the card's channels (a 4-D file or comma-separated files). */
  #read(path: string): Promise<Volume> {
    return this.card.input.channels === 1 ? readVolume(path) : readChannels(path, this.card);
  }

  /** Segments a file path (or the card's channels, comma-separated) or an in-memory volume. */
  async segment(input: string | Volume): Promise<SegmentResult> {
    const t0 = now();
    const signal = this.options.signal;
    const o = this.options;
    const stage = (s: Stage) => {
      signal?.throwIfAborted();
      o.onStage?.(s);
    };
    signal?.throwIfAborted();
    const label = typeof input === "string" ? input : "";
    if (typeof input === "string" && this.card.input.channels > 1) {
      const n = splitChannels(input).length;
      if (n > 1 && n !== this.card.input.channels) {
        throw new UsageError(
          `-i ${input}: ${n} files; the ${this.card.name} card takes ${this.card.input.channels} channels (${
            (this.card.input.names ?? []).join(", ")
          })`,
        );
      }
    }
    await this.ensureModels();
    const pending = typeof input === "string" ? this.#prefetched.get(input) : undefined;
    if (pending) this.#prefetched.delete(input as string);
    if (!pending && typeof input === "string") stage("read");
    const ready = pending ? await pending : undefined;
    const volume = ready ? ready.volume : typeof input === "string" ? await this.#read(input) : input;
    const tRead = now();
    let load = 0;
    {
      // The first session decides the provider (and so whether to overlap,
      // and whether host memory bounds the patch).
      const t = now();
      if (!this.#sessions[0]) stage("load");
      const first = await this.#session(0);
      load += now() - t;
      if (
        first.provider === "cpu" && !this.plan.patchGiven && !o.lowmem && !this.plan.whole && this.card.memory &&
        !this.#patchChecked
      ) {
        this.#patchChecked = true;
        const available = (o.availableMemory ?? systemAvailable)();
        const scale = o.peakScale ?? 1;
        const c = choosePatch(this.card, available / scale);
        if (c.reduced) {
          o.log?.(
            `only ${(available / 2 ** 30).toFixed(1)} GiB available${
              scale !== 1 ? ` (peak estimate x${scale}: tuned allocator)` : ""
            }: patch ${c.patch.join("x")} instead of ${this.patch.join("x")}`,
          );
          this.patch = c.patch;
        }
      }
    }
    const tLoad = now();
    if (!ready) stage("preprocess");
    const prep = ready ? ready.prep : prepare(volume, this.card, this.plan.spacing, label || "input");
    const tPre = now();
    const folds = this.models.length;
    stage("inference");
    const run: FoldRun = { load: 0, provider: "" };
    const overlap = this.#sessions[0].provider !== "cpu";
    const out = await predict(prep, this.folds(run), this.card, this.patch, {
      inference: this.plan.inference,
      tta: this.plan.tta,
      signal,
      // On a GPU, hide accumulation behind the next tile; on the CPU the
      // network has every core and the extra tile of logits costs memory.
      overlap,
      // The adds of each tile are shared by up to 4 threads (the network is idle meanwhile on the CPU).
      accumulateThreads: Math.min(this.threads, 4),
      folds,
      onTile: (p) => o.onProgress?.({ fold: p.fold, folds, tile: p.tile, tiles: p.tiles }),
    });
    const tInf = now();
    stage("postprocess");
    const plan = this.plan;
    const seg = await finish(prep, out.logits, out.classes, this.card, {
      probabilities: plan.probabilities,
      temperature: plan.temperature,
      merge: plan.merge,
      grid: plan.grid,
      threads: this.threads,
    });
    const tPost = now();
    return {
      labels: seg.labels,
      probabilities: seg.probabilities,
      input: volume,
      volumes: tissueVolumes(seg.labels, plan.labelTable, plan.intracranial, label),
      labelTable: plan.labelTable,
      provider: run.provider,
      adapter: run.adapter,
      threads: this.threads,
      patch: plan.whole ? prep.resampledShape : this.patch,
      tiles: out.tiles,
      step: plan.step,
      tta: plan.tta,
      adds: out.adds,
      models: this.models.map((m) => m.path),
      modelFiles: this.models.map((m, k) => ({ path: m.path, name: m.name, sha256: this.#hashes[k] })),
      geometry: {
        box: prep.box.map((b) => [...b]),
        cropped: prep.croppedShape,
        resampled: prep.resampledShape,
        spacing: prep.spacing,
        nonFinite: prep.nonFinite,
      },
      timings: {
        read: ready ? ready.read : tRead - t0,
        load: load + run.load,
        preprocess: ready ? ready.preprocess : tPre - tLoad,
        inference: out.inferenceSeconds,
        // The tile loop outside the network (padding, tiles, blending), so the stages add up to the total.
        accumulate: Math.max(0, tInf - tPre - out.inferenceSeconds - run.load),
        postprocess: tPost - tInf,
        total: tPost - t0,
      },
    };
  }

  /** Releases every session. */
  async close(): Promise<void> {
    const s = this.#sessions;
    this.#sessions = [];
    await Promise.all(s.filter(Boolean).map((x) => x.release()));
  }
}

/**
 * A segmenter whose sessions are kept between calls (batches, notebooks,
 * servers): call `segment()` as often as needed, then `close()`.
 *
 * @example
 * ```ts ignore
 * const segmenter = createSegmenter({ models: "all", compute: "auto" });
 * try {
 *   for (const scan of ["a.nii.gz", "b.nii.gz"]) {
 *     const r = await segmenter.segment(scan);
 *     console.log(scan, r.volumes.tiv_ml);
 *   }
 * } finally {
 *   await segmenter.close();
 * }
 * ```
 */
export function createSegmenter(options: SegmentOptions = {}): Segmenter {
  return new Segmenter(options);
}

/**
 * Segments one scan with fresh sessions, each fold's released after its
 * tiles (unless `keepSessions`).
 *
 * @example
 * ```ts ignore
 * const ctl = new AbortController();
 * const r = await segment("T1.nii.gz", {
 *   models: "0",
 *   onProgress: (p) => console.log(`fold ${p.fold + 1}/${p.folds} tile ${p.tile}/${p.tiles}`),
 *   signal: ctl.signal,
 * });
 * console.log(r.provider, r.timings.total, r.labelTable[1].name);
 * ```
 */
export async function segment(input: string | Volume, options: SegmentOptions = {}): Promise<SegmentResult> {
  const s = new Segmenter({ ...options, keepSessions: options.keepSessions ?? false });
  try {
    return await s.segment(input);
  } finally {
    await s.close();
  }
}
