/**
 * `siamize prompt`: SAMRI's `inference.py` as a subcommand — one slice, a
 * box and/or points, `<base>_seg_.nii.gz` and `<base>_seg_.png` — plus
 * slices of 3-D volumes (`--slice`), propagation through a volume
 * (`--propagate`) and many prompts from a file (`--prompts`). Every check
 * of the input and the prompts runs before a model is loaded and before
 * anything is written.
 *
 * @module
 */
import { join, resolve } from "../core/_std.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { exists, writeFileAtomic } from "../core/fsutil.ts";
import { cacheDir } from "../core/cache_dir.ts";
import { ensureWritableFiles, ensureWritableFolder, EXIT_CANTCREAT } from "../run/preflight.ts";
import { type PromptCard, resolvePromptCard } from "../prompt/card.ts";
import { diskEmbeddingStore } from "../prompt/embedding_cache.ts";
import {
  baseName,
  inputFormat,
  isRgb,
  type PromptInput,
  readPromptInput,
  readVolume64,
  sniffInputFormat,
} from "../prompt/input.ts";
import { isConstant } from "../prompt/preprocess.ts";
import { Prompter } from "../prompt/prompter.ts";
import type { Prompt } from "../prompt/prompts.ts";
import { propagate } from "../prompt/propagate.ts";
import { readPromptsFile, runPrompts } from "../prompt/prompts_file.ts";
import { dims3, paintSlice, putSlice, sliceOf2D, type SliceRef, storedShape, takeSlice } from "../prompt/slice.ts";
import { checkPrompt } from "../prompt/validate.ts";
import { gridNifti, samriNifti, samriPng } from "../prompt/write.ts";
import { parsePromptCli, PROMPT_HELP, type PromptCliOptions } from "./prompt_args.ts";

/** Where messages go. */
export interface PromptIo {
  /** Results and help. */
  out: (line: string) => void;
  /** Progress and errors. */
  err: (line: string) => void;
}

/** The output files of a run: the NIfTI and, optionally, the PNG. */
export interface PromptOutputs {
  /** Mask NIfTI. */
  nifti?: string;
  /** Mask PNG (0/255). */
  png?: string;
}

/**
 * The files `-o` names: a folder (existing, or a path without a `.nii`,
 * `.nii.gz` or `.png` ending) gets SAMRI's `<base>_seg_.nii.gz` and
 * `<base>_seg_.png`; a file name gets that one file (PNG for `.png`).
 */
export async function promptOutputs(o: PromptCliOptions, pngAllowed: boolean): Promise<PromptOutputs> {
  const out = o.output!;
  const l = out.toLowerCase();
  let isDir = false;
  try {
    isDir = (await Deno.stat(out)).isDirectory;
  } catch { /* not there */ }
  if (!isDir && (l.endsWith(".nii") || l.endsWith(".nii.gz"))) return { nifti: out };
  if (!isDir && l.endsWith(".png")) {
    if (!pngAllowed) throw new UsageError(`-o ${out}: a 3-D mask cannot be a PNG; name a .nii.gz file or a folder`);
    return { png: out };
  }
  const base = baseName(o.input!);
  return {
    nifti: join(out, `${base}_seg_.nii.gz`),
    png: o.png && pngAllowed ? join(out, `${base}_seg_.png`) : undefined,
  };
}

function modelPaths(o: PromptCliOptions, card: PromptCard): [string, string] {
  if (o.models) return o.models;
  let dir: string;
  try {
    dir = cacheDir();
  } catch {
    dir = "";
  }
  return [join(dir, card.networks.encoder.file), join(dir, card.networks.decoder.file)];
}

async function checkModels(paths: [string, string], card: PromptCard, given: boolean): Promise<void> {
  for (const [k, p] of paths.entries()) {
    if (await exists(p)) continue;
    const what = k === 0 ? "encoder" : "decoder";
    const hint = given ? "" : `; ${card.weights.note || "pass -M ENCODER.onnx,DECODER.onnx"}`;
    throw new SiamizeError(`-M: the ${what} ${p} does not exist${hint}`, 66);
  }
}

/** The card's two networks as `-M` names them (checked to exist), opened with the embeddings cache unless `--no-cache`. */
async function openPrompter(o: PromptCliOptions, card: PromptCard, detail: (m: string) => void): Promise<Prompter> {
  const models = modelPaths(o, card);
  await checkModels(models, card, o.models !== undefined);
  return await Prompter.open(card, {
    models: { encoder: models[0], decoder: models[1] },
    compute: o.compute,
    gpu: o.gpu,
    threads: o.threads,
    cache: o.cache ? diskEmbeddingStore(models[0], { log: detail }) : undefined,
    lazyEncoder: o.cache,
  });
}

/** Runs `siamize prompt ARGS`; returns the exit code. */
export async function runPrompt(argv: string[], io: PromptIo): Promise<number> {
  const o = parsePromptCli(argv);
  if (o.help) {
    io.out(PROMPT_HELP);
    return 0;
  }
  const say = (s: string) => {
    if (!o.quiet) io.err(s);
  };
  const detail = (s: string) => {
    if (o.verbose) io.err(s);
  };
  const t0 = performance.now();
  const input = o.input!;
  if (!(await exists(input))) throw new SiamizeError(`-i ${input}: no such file`, 66);
  if (!(await sniffInputFormat(input))) {
    throw new SiamizeError(`-i ${input}: unsupported image format: give NIfTI (.nii, .nii.gz), PNG, JPEG or TIFF`, 65);
  }
  const card = await resolvePromptCard(o.card);
  if (o.prompts) return await runPromptsFile(o, card, { say, detail, t0 });

  const img: PromptInput = await readPromptInput(input, o.slice);
  const { height: H, width: W } = img.slice;
  const prompt: Prompt = { box: o.box, points: o.points.length ? o.points : undefined };
  checkPrompt(prompt, H, W);
  if (!isRgb(img.slice) && isConstant(img.slice.data)) {
    throw new SiamizeError(
      `${input}: the ${o.slice ? `slice ${o.slice.axis}:${o.slice.index}` : "image"} (${W}x${H}) holds one value (${
        img.slice.data[0]
      }); SAMRI would segment an all-zero uint8 image; nothing written`,
      65,
    );
  }
  const onGrid = o.slice !== undefined;
  const outs = await promptOutputs(o, !o.propagate);
  await checkNew([outs.nifti, outs.png], o.overwrite);
  const prompter = await openPrompter(o, card, detail);
  try {
    detail(`${card.name}: ${W}x${H} slice, provider ${prompter.provider}`);
    const files: [string, Uint8Array][] = [];
    if (o.propagate) {
      const r = await propagate(prompter, img.volume!, img.ref!, prompt, {
        margin: o.margin,
        path: input,
        onSlice: (k, n) => detail(`slice ${img.ref!.axis}:${k}: ${n} pixels`),
      });
      await prompter.releaseEncoder();
      say(`${r.slices.length} slices segmented${r.slices.length ? ` (${r.slices[0]}..${r.slices.at(-1)})` : ""}`);
      files.push([outs.nifti!, await gridNifti(img.volume!, r.mask, outs.nifti!.toLowerCase().endsWith(".gz"))]);
    } else {
      const e = await prompter.embed(img.slice);
      await prompter.releaseEncoder();
      detail(e.cached ? "embeddings from the cache" : "embeddings computed");
      const p = await prompter.predict(e, prompt);
      const n = p.mask.reduce((a, v) => a + v, 0);
      say(`mask: ${n} of ${W * H} pixels, score ${p.score.toFixed(4)}`);
      if (outs.nifti) {
        if (onGrid) {
          const d = dims3(img.volume!);
          const grid = putSlice(new Uint8Array(d[0] * d[1] * d[2]), d, img.ref!, p.mask);
          files.push([outs.nifti, await gridNifti(img.volume!, grid, outs.nifti.toLowerCase().endsWith(".gz"))]);
        } else {
          files.push([outs.nifti, await samriNifti(p.mask, H, W, outs.nifti.toLowerCase().endsWith(".gz"))]);
        }
      }
      if (outs.png) files.push([outs.png, await samriPng(p.mask, H, W)]);
    }
    // the output folder is made only now, so a run that fails leaves nothing behind
    if (outs.nifti && outs.png) await ensureWritableFolder(resolve(o.output!), "-o");
    else await ensureWritableFiles([outs.nifti, outs.png]);
    for (const [path, bytes] of files) await writeFileAtomic(path, bytes);
    say(`wrote ${files.map((f) => f[0]).join(", ")} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    return 0;
  } finally {
    await prompter.close();
  }
}

interface Talk {
  say: (s: string) => void;
  detail: (s: string) => void;
  t0: number;
}

async function checkNew(paths: (string | undefined)[], overwrite: boolean): Promise<void> {
  for (const p of paths) {
    if (p && !overwrite && (await exists(p))) {
      throw new SiamizeError(`${p} exists (use --overwrite to replace it)`, EXIT_CANTCREAT);
    }
  }
}

/** `--prompts FILE.json`: every prompt checked first, the encoder once per slice, one label mask. */
async function runPromptsFile(o: PromptCliOptions, card: PromptCard, talk: Talk): Promise<number> {
  const input = o.input!;
  const entries = await readPromptsFile(o.prompts!);
  if (inputFormat(input) !== "nifti") throw new SiamizeError(`-i ${input}: --prompts needs a NIfTI input`, 64);
  const vol = await readVolume64(input);
  const volumetric = storedShape(vol).length === 3 && !storedShape(vol).includes(1);
  const slices = new Map<string, ReturnType<typeof takeSlice>>();
  const get = (ref: SliceRef | undefined) => {
    const key = ref ? `${ref.axis}:${ref.index}` : "image";
    let s = slices.get(key);
    if (!s) {
      s = ref ? takeSlice(vol, ref, input) : sliceOf2D(vol, input).slice;
      slices.set(key, s);
    }
    return s;
  };
  for (const [k, e] of entries.entries()) {
    if (volumetric && !e.slice) throw new UsageError(`${o.prompts}: prompt ${k + 1}: a 3-D volume needs "slice"`);
    const s = get(e.slice);
    checkPrompt(e, s.height, s.width, `${o.prompts}: prompt ${k + 1}`);
    if (isConstant(s.data)) {
      throw new SiamizeError(
        `${input}: prompt ${k + 1}: the slice (${s.width}x${s.height}) holds one value; nothing written`,
        65,
      );
    }
  }
  const outs = await promptOutputs({ ...o, png: false }, false);
  await checkNew([outs.nifti], o.overwrite);
  const prompter = await openPrompter(o, card, talk.detail);
  try {
    const d = dims3(vol);
    const labels = new Uint8Array(d[0] * d[1] * d[2]);
    const flat = sliceOf2DRef(vol, input, volumetric);
    const n = await runPrompts(
      prompter,
      entries,
      get,
      (ref, mask, value) => paintSlice(labels, d, ref ?? flat!, mask, value),
      (key, cached) => talk.detail(`slice ${key}: ${cached ? "embeddings from the cache" : "embedded"}`),
    );
    await prompter.releaseEncoder();
    talk.say(`${entries.length} prompts on ${slices.size} slices (${n} embedded, ${slices.size - n} from the cache)`);
    const gz = outs.nifti!.toLowerCase().endsWith(".gz");
    let bytes: Uint8Array;
    if (volumetric) bytes = await gridNifti(vol, labels, gz);
    else {
      const s = get(undefined);
      // back to the (H, W) row-major plane that SAMRI writes as (1, H, W)
      const plane = Uint8Array.from(takeSlice({ ...vol, data: labels }, flat!, input).data);
      bytes = await samriNifti(plane, s.height, s.width, gz);
    }
    await ensureWritableFiles([outs.nifti]);
    await writeFileAtomic(outs.nifti!, bytes);
    talk.say(`wrote ${outs.nifti} (${((performance.now() - talk.t0) / 1000).toFixed(2)} s)`);
    return 0;
  } finally {
    await prompter.close();
  }
}

function sliceOf2DRef(vol: Parameters<typeof sliceOf2D>[0], path: string, volumetric: boolean): SliceRef | undefined {
  return volumetric ? undefined : sliceOf2D(vol, path).ref;
}
