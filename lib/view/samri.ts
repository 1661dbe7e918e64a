/**
 * SAMRI from the page: prompts on a slice of the open scan go through the
 * CLI's {@linkcode Prompter} (the same preprocessing, encoder and decoder as
 * `siamize prompt --slice`). Each slice's embeddings are kept while the
 * models stay the same, so the first prompt on a slice runs the encoder and
 * later ones only the decoder. Masks are written on the scan's grid (as
 * `siamize prompt --slice` writes them) for NiiVue to overlay; accepted
 * masks add up in a label layer that can be saved as NIfTI.
 *
 * @module
 */
import { join } from "../core/_std.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { exists } from "../core/fsutil.ts";
import type { Volume } from "../core/types.ts";
import { cacheDir } from "../core/cache_dir.ts";
import { SAMRI_VIT_B } from "../prompt/card.ts";
import { readVolume64 } from "../prompt/input.ts";
import { isConstant } from "../prompt/preprocess.ts";
import { type Embedded, Prompter } from "../prompt/prompter.ts";
import type { Prompt } from "../prompt/prompts.ts";
import { propagate } from "../prompt/propagate.ts";
import { dims3, putSlice, type SliceRef, takeSlice } from "../prompt/slice.ts";
import { checkPrompt } from "../prompt/validate.ts";
import { gridNifti } from "../prompt/write.ts";
import { FileRegistry } from "./files.ts";

/** A prompt from the page. */
export interface PromptRequest {
  /** `-M ENCODER,DECODER` (default: the card's files in the weights cache). */
  models?: string;
  /** The slice: `vol.take(index, axis)` of the stored array, as `--slice AXIS:INDEX`. */
  axis: number;
  index: number;
  /** `[x1, y1, x2, y2]` (columns, rows of the slice). */
  box?: [number, number, number, number];
  /** Points (label 1 foreground, 0 background). */
  points?: { x: number; y: number; label?: 0 | 1 }[];
  /** Propagate through the neighbouring slices (as `--propagate`). */
  propagate?: boolean;
}

/** What a prompt gave. */
export interface PromptResult {
  /** The mask on the scan's grid, for NiiVue (a page URL). */
  url: string;
  /** Mask pixels (on the slice; all slices with `propagate`). */
  pixels: number;
  /** Whether the encoder ran for this prompt (false: the slice's embeddings were kept). */
  encoded: boolean;
  /** The decoder's IoU estimate (not with `propagate`). */
  score?: number;
  /** Slices segmented (`propagate`). */
  slices?: number[];
}

/** SAMRI on the open scan. */
export class ViewSamri {
  #scan: string;
  #folder: string;
  #files: FileRegistry;
  #volume?: Volume;
  #prompter?: Prompter;
  #models = "";
  #embedded = new Map<string, Embedded>();
  #last?: Uint8Array;
  #layer?: Uint8Array;
  #count = 0;
  /** Encoder runs so far (tests). */
  encoderRuns = 0;

  /** SAMRI on the scan at `scan`; masks are written into `folder` and registered in `files`. */
  constructor(scan: string, folder: string, files: FileRegistry) {
    this.#scan = scan;
    this.#folder = folder;
    this.#files = files;
  }

  async #open(models: string | undefined): Promise<Prompter> {
    const card = SAMRI_VIT_B;
    const given = models?.trim() ? models.split(",").map((s) => s.trim()) : undefined;
    if (given && given.length !== 2) throw new UsageError(`-M ${models}: give ENCODER.onnx,DECODER.onnx`);
    const paths = given ?? [card.networks.encoder.file, card.networks.decoder.file].map((f) => join(cacheDir(), f));
    const key = paths.join(",");
    if (this.#prompter && key === this.#models) return this.#prompter;
    for (const [k, p] of paths.entries()) {
      if (await exists(p)) continue;
      const what = k === 0 ? "encoder" : "decoder";
      const hint = given ? "" : `; ${card.weights.note || "pass -M ENCODER.onnx,DECODER.onnx"}`;
      throw new SiamizeError(`-M: the ${what} ${p} does not exist${hint}`, 66);
    }
    await this.close();
    this.#prompter = await Prompter.open(card, { models: { encoder: paths[0], decoder: paths[1] }, compute: "cpu" });
    this.#models = key;
    return this.#prompter;
  }

  /** Runs one prompt (or a propagation); its mask becomes the one {@linkcode accept} takes. */
  async prompt(req: PromptRequest): Promise<PromptResult> {
    const ref: SliceRef = { axis: req.axis, index: req.index };
    this.#volume ??= await readVolume64(this.#scan);
    const vol = this.#volume;
    const slice = takeSlice(vol, ref, this.#scan);
    const prompt: Prompt = { box: req.box, points: req.points?.length ? req.points : undefined };
    checkPrompt(prompt, slice.height, slice.width);
    if (isConstant(slice.data)) {
      throw new SiamizeError(
        `${this.#scan}: the slice ${ref.axis}:${ref.index} (${slice.width}x${slice.height}) holds one value (${
          slice.data[0]
        }); SAMRI would segment an all-zero uint8 image; nothing written`,
        65,
      );
    }
    const prompter = await this.#open(req.models);
    const d = dims3(vol);
    let grid: Uint8Array, result: Omit<PromptResult, "url">;
    if (req.propagate) {
      const r = await propagate(prompter, vol, ref, prompt, { path: this.#scan });
      this.encoderRuns += r.slices.length || 1;
      grid = r.mask;
      result = { pixels: grid.reduce((a, v) => a + v, 0), encoded: true, slices: r.slices };
    } else {
      const key = `${ref.axis}:${ref.index}`;
      let e = this.#embedded.get(key);
      const encoded = !e;
      if (!e) {
        e = await prompter.embed(slice);
        this.encoderRuns++;
        this.#embedded.set(key, e);
      }
      const p = await prompter.predict(e, prompt);
      grid = putSlice(new Uint8Array(d[0] * d[1] * d[2]), d, ref, p.mask);
      result = { pixels: p.mask.reduce((a, v) => a + v, 0), encoded, score: p.score };
    }
    this.#last = grid;
    const path = join(this.#folder, "samri", `mask${++this.#count}.nii.gz`);
    await Deno.mkdir(join(this.#folder, "samri"), { recursive: true });
    await Deno.writeFile(path, await gridNifti(vol, grid, true));
    return { url: FileRegistry.url(this.#files.add(path)), ...result };
  }

  /** Adds the last mask to the label layer (as `value`); the layer's URL. */
  async accept(value = 1): Promise<string> {
    if (!this.#last || !this.#volume) throw new UsageError("no mask to accept: prompt first");
    this.#layer ??= new Uint8Array(this.#last.length);
    for (let i = 0; i < this.#last.length; i++) if (this.#last[i]) this.#layer[i] = value;
    const path = join(this.#folder, "samri", `layer${++this.#count}.nii.gz`);
    await Deno.writeFile(path, await gridNifti(this.#volume, this.#layer, true));
    return FileRegistry.url(this.#files.add(path, "samri_labels.nii.gz"));
  }

  /** Empties the label layer. */
  clear(): void {
    this.#layer = undefined;
    this.#last = undefined;
  }

  /** Frees the networks. */
  async close(): Promise<void> {
    const p = this.#prompter;
    this.#prompter = undefined;
    this.#embedded.clear();
    if (p) await p.close();
  }
}
