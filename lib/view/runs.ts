/**
 * Runs started from the page: the CLI's Segmenter with the page's choices
 * (card, `-M` models, patch, spacing, provider), its stage and tile
 * callbacks sent to the page as events, cancelled through the same
 * `AbortSignal` the CLI's Ctrl-C path gives the Segmenter, and its outputs
 * (labels, probability map, label table, volumes, QC picture) written all
 * or nothing into the server's temp folder and registered for download.
 *
 * @module
 */
import { basename, join } from "../core/_std.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { errorText } from "../core/fsutil.ts";
import { type Compute, COMPUTE_CHOICES } from "../core/types.ts";
import type { ClassInfo } from "../cards/card.ts";
import { resolveCard } from "../cards/shipped.ts";
import type { VolumeRow } from "../outputs/volumes.ts";
import { writeOutputs } from "../outputs/outputs.ts";
import type { Backend } from "../engine/ort.ts";
import { Segmenter, STAGE_TEXT } from "../run/segment.ts";
import { FileRegistry } from "./files.ts";
import type { EventHub } from "./sse.ts";

/** What the page asks for: the CLI's flags by their long names, as strings. */
export interface RunRequest {
  /** `--card`: a card the server offers. */
  card?: string;
  /** `-M`: folds, cache names, `.onnx` paths, comma-separated. @default "0" */
  models?: string;
  /** `-P ZxYxX`. */
  patch?: string;
  /** `-u`: mm or a card's named spacing. */
  spacing?: string;
  /** `-c`. @default "auto" */
  compute?: string;
  /** `-t`. */
  threads?: number;
  /** Also write the probability map. @default false */
  tpm?: boolean;
}

/** The files of a finished run, as page URLs, and its volumes. */
export interface RunOutputs {
  /** Run number (1, 2, …). */
  run: number;
  /** Download URLs by kind: `labels`, `tpm`, `tsv`, `volumes`, `qc`. */
  files: Record<string, string>;
  /** Volumes (mL) per class and TIV. */
  volumes: VolumeRow;
  /** The label table of the labels. */
  labelTable: ClassInfo[];
  /** Provider that ran the network, and the seconds the run took. */
  provider: string;
  seconds: number;
}

/** The one line the CLI prints for an error (`siamize: …`). */
export function errorLine(e: unknown): string {
  return `siamize: ${e instanceof SiamizeError ? e.message : errorText(e)}`;
}

/** Options of {@linkcode ViewRuns}. */
export interface ViewRunsOptions {
  /** The server's temp folder (each run writes into `run<N>/` there). */
  folder: string;
  /** Where finished outputs are registered. */
  files: FileRegistry;
  /** Where events go. */
  hub: EventHub;
  /** Card names (or files) the page may choose. */
  cards: string[];
  /** Weights cache. @default the CLI's */
  cacheDir?: string;
  /** ONNX Runtime stand-in (tests). */
  backend?: Backend;
}

function checkedCompute(c: string | undefined): Compute | undefined {
  if (c === undefined || c === "") return undefined;
  if (!(COMPUTE_CHOICES as readonly string[]).includes(c)) {
    throw new UsageError(`-c ${c}: use one of ${COMPUTE_CHOICES.join(", ")}`);
  }
  return c as Compute;
}

/** The page's runs: one at a time. */
export class ViewRuns {
  #o: ViewRunsOptions;
  #count = 0;
  #abort?: AbortController;
  /** The last finished run's outputs. */
  last?: RunOutputs;

  /** Runs write into `o.folder` and report to `o.hub`. */
  constructor(o: ViewRunsOptions) {
    this.#o = o;
  }

  /** Whether a run is going on. */
  get running(): boolean {
    return this.#abort !== undefined;
  }

  /**
   * Checks the request, makes the Segmenter (every option/card conflict is
   * the CLI's usage error, thrown here) and starts the run on `scan`; the
   * outcome comes as events (`done`, `error`, `cancelled`). Returns the run number.
   */
  async start(scan: string, req: RunRequest): Promise<number> {
    if (this.#abort) throw new UsageError("a run is going on: cancel it first");
    const hub = this.#o.hub;
    if (req.card !== undefined && !this.#o.cards.includes(req.card)) {
      throw new UsageError(`--card ${req.card}: not one of ${this.#o.cards.join(", ")}`);
    }
    const abort = new AbortController();
    this.#abort = abort; // taken before any await: a second request meanwhile is refused
    let seg: Segmenter;
    try {
      const spacing = req.spacing && /^[0-9.]+$/.test(req.spacing) ? Number(req.spacing) : req.spacing || undefined;
      seg = new Segmenter({
        card: req.card ? await resolveCard(req.card) : undefined,
        models: req.models?.trim() || "0",
        compute: checkedCompute(req.compute),
        threads: req.threads,
        patch: req.patch?.trim() || undefined,
        spacing,
        tpm: req.tpm === true,
        keepSessions: false,
        cacheDir: this.#o.cacheDir,
        backend: this.#o.backend,
        signal: abort.signal,
        log: (text) => hub.publish({ type: "log", text }),
        detail: () => {},
        onStage: (stage) => hub.publish({ type: "stage", stage, text: STAGE_TEXT[stage] }),
        onProgress: (p) => hub.publish({ type: "tile", ...p }),
        onDownload: (d) => hub.publish({ type: "download", ...d }),
      });
    } catch (e) {
      this.#abort = undefined;
      throw e;
    }
    const run = ++this.#count;
    hub.publish({ type: "start", run, models: seg.models.map((m) => m.path), card: seg.card.name }, true);
    this.#go(run, scan, seg, abort, req.tpm === true);
    return run;
  }

  /** Cancels the run going on (at its next stage or tile); false when none is. */
  cancel(): boolean {
    if (!this.#abort) return false;
    this.#abort.abort(new SiamizeError("interrupted", 130));
    return true;
  }

  async #go(run: number, scan: string, seg: Segmenter, abort: AbortController, tpm: boolean): Promise<void> {
    const hub = this.#o.hub;
    const t0 = performance.now();
    try {
      const r = await seg.segment(scan);
      const dir = join(this.#o.folder, `run${run}`);
      await Deno.mkdir(dir, { recursive: true });
      const paths = {
        labels: join(dir, "labels.nii.gz"),
        tsv: join(dir, "labels.labels.tsv"),
        volumes: join(dir, "volumes.csv"),
        qc: join(dir, "qc.png"),
        ...(tpm ? { tpm: join(dir, "labels_tpm.nii.gz") } : {}),
      };
      abort.signal.throwIfAborted();
      await writeOutputs(paths.labels, r, {
        tpmOut: paths.tpm,
        vol: paths.volumes,
        qc: paths.qc,
        inputName: basename(scan),
        card: seg.card,
      });
      const files: Record<string, string> = {};
      for (const [k, p] of Object.entries(paths)) files[k] = FileRegistry.url(this.#o.files.add(p));
      this.last = {
        run,
        files,
        volumes: r.volumes,
        labelTable: r.labelTable,
        provider: r.provider,
        seconds: (performance.now() - t0) / 1000,
      };
      hub.publish({ type: "done", ...this.last });
    } catch (e) {
      if (abort.signal.aborted) hub.publish({ type: "cancelled", run, line: "siamize: interrupted" });
      else hub.publish({ type: "error", run, line: errorLine(e) });
    } finally {
      this.#abort = undefined;
      await seg.close().catch(() => {});
    }
  }
}
