/**
 * One segmentation from bytes, as the browser page runs it: the scan and the
 * model files come as bytes (picked from disk, never uploaded), the network
 * runs on any {@linkcode Backend} (onnxruntime-web in the tab; the
 * onnxruntime-node one in the tests that compare the two). The stages are
 * the pipeline's own — `makePlan`, `prepare`, `predict`, `finish` from
 * `lib/run/`, the load-time graph passes from `lib/engine/passes/` — with
 * the tab's memory planned first ({@linkcode planTabMemory}).
 *
 * Nothing here touches a file system or a Deno API, so the page bundles it.
 *
 * @module
 */
import type { Compute, Shape3, Volume } from "../core/types.ts";
import { InputError, SiamizeError } from "../core/errors.ts";
import type { ModelCard } from "../cards/card.ts";
import { parseNifti } from "../io/nifti.ts";
import { parseJnifti } from "../io/jnifti.ts";
import { encodeNifti } from "../io/nifti.ts";
import { compress } from "../io/gzip.ts";
import { rewriteForProvider } from "../engine/passes/rewrites.ts";
import type { Backend, NetworkSession } from "../engine/ort.ts";
import type { Fold } from "../inference/sliding_window.ts";
import { finish, predict, prepare } from "../run/pipeline.ts";
import { makePlan } from "../run/plan.ts";
import { channelsOf4D, checkChannelCount, checkSameGrid, stackChannels } from "../run/channel_stack.ts";
import { planTabMemory, type TabMemoryPlan } from "./tab_memory.ts";

/** A file picked by the user: its name and bytes. */
export interface PickedFile {
  /** File name (for messages and the format: `.jnii`/`.bnii` are JNIfTI, anything else NIfTI-1/2, gzipped or not). */
  name: string;
  /** Its bytes. */
  bytes: Uint8Array;
}

/** Stages of a run in the tab, in order. */
export type TabStage = "read" | "plan" | "load" | "preprocess" | "inference" | "postprocess" | "write";

/** Options of {@linkcode segmentInTab}. */
export interface TabRunOptions {
  /** The model card. */
  card: ModelCard;
  /** Backend creating the sessions (onnxruntime-web in the page). */
  backend: Backend;
  /** Provider. @default "auto" */
  compute?: Compute;
  /** Patch (z, y, x) or `"ZxYxX"`. @default the card's low-memory patch */
  patch?: Shape3 | string;
  /** Working spacing (mm or a card's name). @default the card's */
  spacing?: number | string;
  /** Tile step. @default the card's */
  step?: number;
  /** Limits of the memory plan. @default a tab's (4 GiB WASM heap) */
  limits?: { wasm?: number; arrays?: number };
  /** Called as each stage starts. */
  onStage?: (stage: TabStage) => void;
  /** Called after every tile. */
  onTile?: (p: { fold: number; folds: number; tile: number; tiles: number }) => void;
  /** One-line messages (provider choice, graph rewrites). */
  log?: (message: string) => void;
}

/** What a run in the tab gives back. */
export interface TabResult {
  /** Labels (uint8) on the input grid. */
  labels: Volume;
  /** The scan as read. */
  input: Volume;
  /** Provider that ran the network. */
  provider: string;
  /** Patch used (z, y, x). */
  patch: Shape3;
  /** Tiles per model. */
  tiles: number;
  /** The memory plan the run was checked against. */
  memory: TabMemoryPlan;
  /** Seconds per stage, and the network's share of inference. */
  timings: {
    read: number;
    load: number;
    preprocess: number;
    inference: number;
    network: number;
    postprocess: number;
    total: number;
  };
}

const now = () => performance.now() / 1000;

/**
 * Reads a scan from bytes: JNIfTI (`.jnii`, `.bnii`) or NIfTI-1/NIfTI-2
 * (gzipped or not); `allow4D` keeps a NIfTI's volumes (a 4-D file with one
 * volume per channel).
 */
export async function readScanBytes(file: PickedFile, allow4D = false): Promise<Volume> {
  const lower = file.name.toLowerCase();
  if (lower.endsWith(".jnii") || lower.endsWith(".bnii")) return await parseJnifti(file.name, file.bytes);
  return await parseNifti(file.name, file.bytes, { allow4D });
}

/**
 * Reads a card's input from picked files as the CLI's `-i` does
 * (`lib/run/channels.ts`): one scan for a one-channel card; for a K-channel
 * card K files in the card's channel order (same grid) or one 4-D file with
 * K volumes — the same checks and one-line refusals, shared
 * (`lib/run/channel_stack.ts`).
 */
export async function readChannelBytes(files: PickedFile[], card: ModelCard): Promise<Volume> {
  const names = files.map((f) => f.name);
  checkChannelCount(files.length, card, names.join(",") || "no scan picked");
  if (card.input.channels === 1) return await readScanBytes(files[0]);
  if (files.length === 1) return channelsOf4D(await readScanBytes(files[0], true), names[0], card);
  const vols: Volume[] = [];
  for (const f of files) {
    const v = await readScanBytes(f);
    if (vols.length) checkSameGrid(vols[0], names[0], v, f.name);
    vols.push(v);
  }
  return stackChannels(vols, names, card);
}

/** Labels as NIfTI bytes (gzipped when `gzip`), for the page's download. */
export async function labelsNifti(labels: Volume, gzip = true): Promise<Uint8Array> {
  const bytes = encodeNifti(labels);
  return gzip ? await compress(bytes) : bytes;
}

/** Opens one model on the backend, with the load-time graph passes, checked against the card. */
async function openModel(model: PickedFile, card: ModelCard, o: TabRunOptions): Promise<NetworkSession> {
  const log = o.log ?? (() => {});
  const s = await o.backend.create({
    model: model.bytes,
    label: model.name,
    forProvider: (provider) => {
      let r;
      try {
        r = rewriteForProvider(model.bytes, provider);
      } catch (e) {
        throw new SiamizeError(`${model.name}: not a valid ONNX model (${(e as Error).message.split("\n")[0]})`, 65);
      }
      if (r.steps.length) log(`${model.name}: graph rewritten for ${provider} (${r.steps.join("; ")})`);
      return r.bytes;
    },
  }, {
    compute: o.compute ?? "auto",
    noArena: true,
    log,
    warmup: card.patchMultiple.map((m) => Math.ceil(16 / m) * m) as Shape3,
  });
  const fail = async (what: string) => {
    await s.release();
    throw new SiamizeError(`${model.name}: ${what}`, 65);
  };
  if (s.inputChannels !== undefined && s.inputChannels !== card.input.channels) {
    await fail(`model takes ${s.inputChannels} input channel(s), the ${card.name} card has ${card.input.channels}`);
  }
  if (s.classes !== card.classes.length) {
    await fail(`model has ${s.classes} output classes, the ${card.name} card has ${card.classes.length}`);
  }
  return s;
}

/**
 * Segments a scan given as bytes with models given as bytes: the plan (the
 * card's low-memory patch unless one is given), the tab's memory plan
 * (refused before any model is loaded when it cannot fit), then the
 * pipeline's stages with one session open at a time. A K-channel card
 * (HNOSeg-XS: t1c, t1n, t2f, t2w) takes K scans in the card's channel
 * order, or one 4-D scan ({@linkcode readChannelBytes}).
 */
export async function segmentInTab(
  scans: PickedFile | PickedFile[],
  models: PickedFile[],
  o: TabRunOptions,
): Promise<TabResult> {
  const files = Array.isArray(scans) ? scans : [scans];
  if (!files.length) throw new SiamizeError("no scan picked", 64);
  if (!models.length) throw new SiamizeError("no model picked", 64);
  const scan = files[0];
  const t0 = now();
  o.onStage?.("read");
  const input = await readChannelBytes(files, o.card);
  const tRead = now();
  o.onStage?.("plan");
  // A whole-volume card (HNOSeg-XS) has no patch; the others default to their low-memory one.
  const whole = o.card.inference?.mode === "whole";
  const patch0 = o.patch ?? (whole ? undefined : o.card.lowmemPatch);
  const plan = makePlan({ card: o.card, patch: patch0, spacing: o.spacing, step: o.step });
  const card = plan.card;
  o.onStage?.("preprocess");
  const prep = prepare(input, card, plan.spacing, scan.name);
  const tPre = now();
  const patch: Shape3 = plan.whole ? prep.resampledShape : plan.patch;
  const memory = planTabMemory(scan.name, {
    card,
    patch,
    working: prep.resampledShape,
    cropped: prep.croppedShape,
    inputVoxels: input.data.length,
    modelBytes: Math.max(...models.map((m) => m.bytes.length)),
    limits: o.limits,
  });
  o.onStage?.("load");
  let load = 0, provider = "";
  async function* folds(): AsyncGenerator<Fold> {
    for (const m of models) {
      const t = now();
      const s = await openModel(m, card, o);
      load += now() - t;
      provider = s.provider;
      let first = true;
      try {
        yield {
          classes: s.classes,
          name: m.name,
          predict: (tile, p) => {
            if (first) o.onStage?.("inference"), first = false;
            return s.run(tile, p);
          },
        };
      } finally {
        await s.release();
      }
    }
  }
  const out = await predict(prep, folds(), card, patch, {
    inference: plan.inference,
    folds: models.length,
    accumulateThreads: 1,
    onTile: (p) => o.onTile?.({ fold: p.fold, folds: models.length, tile: p.tile, tiles: p.tiles }),
  });
  const tInf = now();
  o.onStage?.("postprocess");
  const seg = await finish(prep, out.logits, out.classes, card, { grid: plan.grid, threads: 1 });
  const tPost = now();
  if (!(seg.labels.data instanceof Uint8Array)) throw new InputError(scan.name, "labels are not uint8");
  return {
    labels: seg.labels,
    input,
    provider,
    patch,
    tiles: out.tiles,
    memory,
    timings: {
      read: tRead - t0,
      load,
      preprocess: tPre - tRead,
      inference: tInf - tPre - load,
      network: out.inferenceSeconds,
      postprocess: tPost - tInf,
      total: tPost - t0,
    },
  };
}
