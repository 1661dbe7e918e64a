/**
 * `deno task bench [--case NAME[,NAME…]] [--runs N] [--input SCAN] [--threads N]`
 *
 * Benchmarks on a real scan (default: Colin27 `ch2.nii.gz` from Debian's
 * mricron-data). Each run is a fresh `cli.ts` process with `--report`, so
 * wall time, per-stage seconds and peak RSS are those of a user's run; the
 * table gives the median of the runs.
 *
 * Cases:
 * - `gzip`: fflate vs the native (De)CompressionStream on a 10+ MB .nii.gz
 * - `stages`: our part of the pipeline alone (stages 2-4 and 7, no network)
 * - `tiny`: the whole CLI with a tiny generated model (pipeline overhead)
 * - `siam`, `siam-fp16`: the siam-v0.3 preset (~141M parameters), one fold, default patch
 * - `siam-128`: the same at 128x128x128
 * - `segresnet-tile`, `segresnet-ct`, `hnoseg-brats`: raw network time and
 *   peak RSS of the other networks' stand-ins (see `bench_networks.ts`;
 *   `--ct-grid ZxYxX` sets the CT case's 1.5 mm grid)
 * - `tiny-webgpu`, `tiny-fp16-webgpu`: the tiny model at 3 mm and 64x64x64 on WebGPU and on the
 *   CPU (quick even on a software Vulkan); `siam-webgpu`, `siam-fp16-webgpu`: the siam-v0.3 preset,
 *   default patch (for real GPUs). Per-fold wall time, tiles/s, the adapter (see `bench_gpu.ts`).
 * - `ct-golden`, `brats-standin`: the other cards (see `scripts/bench_cards.ts`)
 * - `instance-norm`: one 256x256x192 tile of the fp16 siam-v0.3 preset with and without the
 *   InstanceNormalization rewrite (`tile_bench.ts`, fresh processes, alternating): its cost
 * - `samri-tiny`, `samri-vit-b`: SAMRI prompts with the sam-tiny / sam-vit-b presets: encoder per
 *   slice, decoder per prompt, a second prompt on a cached slice (whole CLI), peak RSS (`bench_samri.ts`)
 * - `accumulate`, `ct-accumulate`, `tta`, `step`, `folds5`, `convtranspose-cpu`: the tile loop
 *   outside the network, nnU-Net's options, folds' sessions, the ConvTranspose rewrite on the
 *   CPU (see `bench_tiles.ts`; `--patch` sets the last one's tile)
 *
 * - `cxx`: one fold of the fp16 siam-v0.3 preset on a head cropped to one tile, against the C++
 *   siamize (`../shared/baselines/siamize-cxx/run` or `--cxx PATH`), alternating pairs (`bench_cxx.ts`)
 * - `folds5-siam`: five folds of that model and head in one run against one fold: peak RSS (`bench_cxx.ts`)
 * - `dicom`: a generated 180-slice DICOM series read in-process through dcm2niix's WASM (`bench_dicom.ts`)
 * - `tab`: the browser build in headless Chromium on a generated head scan, analytic and tiny models, WASM and
 *   WebGPU where offered: per tile, network, whole run, WASM threads (`bench_tab.ts`)
 *
 * Default: gzip, stages, tiny. Models are generated into `.cache/bench/models-<hash of scripts/builders/>/`.
 *
 * @module
 */
import { enterUserFolder } from "../../lib/cli/user_folder.ts";
import { gunzipSync, gzipSync } from "fflate";
import { join } from "../../lib/core/_std.ts";
import { generatedModels, gib, median, ROOT, time } from "./_common.ts";
import { scriptArgs } from "../_cli.ts";

/** Every case `--case` takes, with what it measures (the usage lists them all; a test compares them with the docs). */
export const BENCH_CASES: readonly (readonly [string, string])[] = [
  ["gzip", "fflate vs the native (De)CompressionStream on a 10+ MB .nii.gz"],
  ["stages", "our part of the pipeline alone (read, prepare, finish, write; no network)"],
  ["tiny", "the whole CLI with the generated tiny model (pipeline overhead)"],
  ["siam", "the siam-v0.3 preset (~141M parameters), one fold, default patch"],
  ["siam-fp16", "the same, fp16"],
  ["siam-128", "the siam-v0.3 preset at -P 128x128x128"],
  ["segresnet-tile", "the MONAI CT stand-in (segresnet preset) on one 96³ tile: network only"],
  ["segresnet-ct", "the same on every tile of MONAI's sliding window over --ct-grid"],
  ["hnoseg-brats", "the hnoseg-xs preset on one 4-channel 155x240x240 BraTS volume: network only"],
  ["tiny-webgpu", "the tiny model at 3 mm, 64x64x64, on WebGPU and on the CPU"],
  ["tiny-fp16-webgpu", "the same, fp16"],
  ["siam-webgpu", "the siam-v0.3 preset, default patch, on WebGPU and on the CPU (for real GPUs)"],
  ["siam-fp16-webgpu", "the same, fp16"],
  ["ct-golden", "--card monai-wholebody-ct on the golden CT case (whole CLI)"],
  ["brats-standin", "--card hnoseg-xs-brats on a generated 4-channel BraTS-size case (whole CLI)"],
  [
    "samri-tiny",
    "SAMRI with the sam-tiny preset: encoder per slice, decoder per prompt, a cached second prompt (whole CLI)",
  ],
  ["samri-vit-b", "the same with the sam-vit-b preset (SAM's ViT-B shapes)"],
  ["accumulate", "the tile loop outside the network: SIAM test card at 64x64x48 (see bench_tiles.ts)"],
  ["ct-accumulate", "the same for the MONAI CT card with the tiny SegResNet"],
  ["tta", "nnU-Net's --tta on the phantom"],
  ["step", "nnU-Net's --step on the phantom"],
  ["folds5", "5 folds: --release-sessions vs --keep-sessions (peak RSS)"],
  ["convtranspose-cpu", "the 3-D ConvTranspose rewrite on the CPU (tile set by --patch)"],
  [
    "instance-norm",
    "one 256x256x192 tile of the fp16 siam-v0.3 preset with and without the InstanceNormalization rewrite",
  ],
  ["cxx", "one fold of the fp16 siam-v0.3 preset on a head cropped to one tile, against the C++ siamize"],
  ["folds5-siam", "five folds of that model and head in one run against one fold (peak RSS)"],
  ["dicom", "a generated 180-slice DICOM series converted in-process by dcm2niix's WASM, against .nii/.nii.gz"],
  ["tab", "the browser build in headless Chromium: analytic and tiny models, WASM (and WebGPU); per tile, whole run"],
];

export const BENCH_USAGE = `bench [--case NAME[,NAME…]] [--runs N] [--input SCAN] [--threads N] [--ct-grid ZxYxX]
             [--patch ZxYxX] [--cxx PATH]
  --case     cases, comma-separated (default gzip,stages,tiny):
${BENCH_CASES.map(([n, what]) => `             ${n.padEnd(17)} ${what}`).join("\n")}
  --runs     runs per case; the tables give medians (default 3)
  --input    scan for the whole-CLI cases (default /usr/share/mricron/templates/ch2.nii.gz)
  --threads  CPU threads for the runs (default: all cores)
  --ct-grid  the segresnet-ct case's 1.5 mm grid, z x y x x (default 168x168x168)
  --patch    the convtranspose-cpu case's tile (default 128x128x128)
  --cxx      the cxx case's C++ siamize (default ../shared/baselines/siamize-cxx/run beside the checkout)
Models and inputs are generated into .cache/bench/ in the checkout (models
afresh after a change to scripts/builders/).`;
import { compress, decompress } from "../../lib/io/gzip.ts";
import { logitsToLabelsParallel } from "../../lib/numerics/argmax.ts";
import { prepare } from "../../lib/run/pipeline.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { resize } from "../../lib/geometry/resample.ts";
import type { RunReport } from "../../lib/run/report.ts";
import { benchNetworks } from "./bench_networks.ts";
import { benchGpu } from "./bench_gpu.ts";
import { cardCases } from "./bench_cards.ts";
import { benchSamri } from "./bench_samri.ts";
import { benchDicom } from "./bench_dicom.ts";
import { samPaths } from "../builders/make_model.ts";
import { benchTiles } from "./bench_tiles.ts";
import { benchCxx, benchFolds5Siam } from "./bench_cxx.ts";
import { benchTab } from "./bench_tab.ts";

const CACHE = join(ROOT, ".cache", "bench");
let models: Promise<string> | undefined;
/** The generated-models folder of this bench run (hashed and pruned once). */
const modelsDir = () => models ??= generatedModels(CACHE);

/**
 * Generates a model in a process of its own (seed 1): building a full-size
 * network takes gigabytes that this process would keep, and the CLI runs it
 * starts next choose their patch from the memory left.
 */
async function makeModelApart(preset: string, out: string, fp16: boolean): Promise<void> {
  const args = ["run", "-A", join(ROOT, "scripts", "builders", "make_model.ts"), "--preset", preset, "-o", out];
  const r = await new Deno.Command(Deno.execPath(), { args: fp16 ? [...args, "--fp16"] : args, stdout: "null" })
    .output();
  if (!r.success) throw new Error(`make-model --preset ${preset} failed (exit code ${r.code})`);
}

async function ensureModel(name: string, preset: string, fp16: boolean): Promise<string> {
  const p = join(await modelsDir(), name);
  try {
    await Deno.stat(p);
  } catch {
    console.error(`generating ${p} …`);
    await makeModelApart(preset, p, fp16);
  }
  return p;
}

async function benchGzip(input: string, runs: number): Promise<string[]> {
  // A 10+ MB .nii.gz: the scan upsampled 1.5x per axis, float32.
  const big = join(CACHE, "gzip_input.nii.gz");
  try {
    await Deno.stat(big);
  } catch {
    await Deno.mkdir(CACHE, { recursive: true });
    const v = await readNifti(input);
    const [x, y, z] = v.dims;
    const out: [number, number, number] = [Math.round(z * 1.5), Math.round(y * 1.5), Math.round(x * 1.5)];
    const data = resize(v.data, [z, y, x], out, 1);
    const affine = v.affine.map((r, i) => (i < 3 ? [r[0] / 1.5, r[1] / 1.5, r[2] / 1.5, r[3]] : r));
    await writeNifti(big, { ...v, dims: [out[2], out[1], out[0]], data, affine, pixdim: v.pixdim.map((p) => p / 1.5) });
  }
  const gz = await Deno.readFile(big);
  const raw = await decompress(gz);
  const t: Record<string, number[]> = {
    "gunzip fflate": [],
    "gunzip native": [],
    "gzip fflate": [],
    "gzip native": [],
  };
  for (let i = 0; i < runs; i++) {
    t["gunzip fflate"].push((await time(() => gunzipSync(gz)))[0]);
    t["gunzip native"].push((await time(() => decompress(gz)))[0]);
    t["gzip fflate"].push((await time(() => gzipSync(raw, { level: 6 })))[0]);
    t["gzip native"].push((await time(() => compress(raw)))[0]);
  }
  return [
    `gzip: ${(gz.length / 2 ** 20).toFixed(1)} MiB .nii.gz (${
      (raw.length / 2 ** 20).toFixed(0)
    } MiB raw), ${runs} runs, median s`,
    ...Object.entries(t).map(([k, v]) => `| ${k} | ${median(v).toFixed(3)} |`),
  ];
}

async function benchStages(input: string, runs: number, threads: number): Promise<string[]> {
  const v = await readNifti(input);
  const pre: number[] = [], post: number[] = [];
  let shapes = "";
  for (let i = 0; i < runs; i++) {
    const [tp, prep] = await time(() => prepare(v, SIAM_V03, [0.75, 0.75, 0.75]));
    pre.push(tp);
    // 18 channels of logits on the resampled grid (content does not change the cost).
    const n = prep.image.length;
    const logits = new Float32Array(new SharedArrayBuffer(18 * n * 4));
    for (let c = 0; c < 18; c++) {
      const ch = logits.subarray(c * n, (c + 1) * n);
      for (let j = 0; j < n; j++) ch[j] = prep.image[j] * ((c % 5) - 2) + c * 0.01;
    }
    const [tq] = await time(() => logitsToLabelsParallel(logits, 18, prep.resampledShape, prep.croppedShape, threads));
    post.push(tq);
    shapes = `${prep.croppedShape.join("x")} -> ${prep.resampledShape.join("x")}`;
  }
  return [
    `stages on ${input} (crop ${shapes}), ${runs} runs, median s`,
    `| stages 1-4 (reorient, crop, z-score, order-3 resample) | ${median(pre).toFixed(3)} |`,
    `| stage 7 (18-channel order-1 resample back + argmax, ${threads} threads) | ${median(post).toFixed(3)} |`,
    `| together | ${median(pre.map((p, i) => p + post[i])).toFixed(3)} |`,
  ];
}

/** One CLI run: its wall time and `--report`. */
export interface RunRow {
  wall: number;
  report: RunReport;
}

async function runCli(input: string, model: string, extra: string[], compute = "cpu"): Promise<RunRow> {
  const dir = await Deno.makeTempDir({ prefix: "siamize-bench-" });
  try {
    const report = join(dir, "run.json");
    const t = performance.now();
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "cli.ts"),
        "-i",
        input,
        "-o",
        join(dir, "labels.nii.gz"),
        "-M",
        model,
        "-c",
        compute,
        "-q",
        "--report",
        report,
        ...extra,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const wall = (performance.now() - t) / 1000;
    if (!r.success) throw new Error(`cli.ts failed with exit code ${r.code}`);
    return { wall, report: JSON.parse(await Deno.readTextFile(report)) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function benchModel(label: string, input: string, model: string, extra: string[], runs: number): Promise<string> {
  const rows: RunRow[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runCli(input, model, extra);
    console.error(
      `${label} run ${i + 1}/${runs}: ${r.wall.toFixed(1)} s, inference ${r.report.seconds.inference} s, peak ${
        gib(r.report.peakRssBytes)
      } GiB`,
    );
    rows.push(r);
  }
  const m = (f: (r: RunRow) => number) => median(rows.map(f));
  const s = (k: string) => m((r) => r.report.seconds[k]);
  const wall = m((r) => r.wall);
  const nonNet = m((r) => 1 - r.report.seconds.inference / r.wall);
  const rep = rows[0].report;
  return `| ${label} | ${rep.patch.join("x")} | ${rep.tiles} | ${rep.threads} | ${wall.toFixed(1)} | ${
    s("read").toFixed(2)
  } | ${s("load").toFixed(2)} | ` +
    `${s("preprocess").toFixed(2)} | ${s("inference").toFixed(1)} | ${s("postprocess").toFixed(2)} | ${
      s("write").toFixed(2)
    } | ` +
    `${(nonNet * 100).toFixed(1)}% | ${gib(m((r) => r.report.peakRssBytes ?? NaN))} | ${runs} |`;
}

async function benchInstanceNorm(runs: number, threads: string | undefined): Promise<string[]> {
  const model = await ensureModel("siam-v0.3_fp16.onnx", "siam-v0.3", true);
  const rows: Record<string, { seconds: number; cpuSeconds: number; peakRssBytes: number; rewriteSeconds: number }[]> =
    { with: [], without: [] };
  for (let i = 0; i < runs; i++) {
    for (const variant of ["without", "with"]) {
      const args = ["run", "-A", join(ROOT, "scripts", "bench", "tile_bench.ts"), model, "--threads", threads ?? "2"];
      if (variant === "without") args.push("--skip", "instance-norm");
      const r = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" }).output();
      if (!r.success) throw new Error(`tile_bench.ts failed with exit code ${r.code}`);
      const row = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
      console.error(`instance-norm ${variant} run ${i + 1}/${runs}: ${row.seconds.toFixed(1)} s`);
      rows[variant].push(row);
    }
  }
  const m = (v: string, k: "seconds" | "cpuSeconds" | "peakRssBytes" | "rewriteSeconds") =>
    median(rows[v].map((r) => r[k]));
  const line = (v: string) =>
    `| ${v} | ${m(v, "rewriteSeconds").toFixed(2)} | ${m(v, "seconds").toFixed(1)} | ${
      m(v, "cpuSeconds").toFixed(1)
    } | ${gib(m(v, "peakRssBytes"))} |`;
  return [
    `one 256x256x192 tile, siam-v0.3 fp16 preset (rewritten to fp32), ${runs} runs each, median`,
    "| InstanceNormalization rewrite | rewrite s | run s | CPU s | peak RSS GiB |",
    "|---|---|---|---|---|",
    line("without"),
    line("with"),
    `cost of the rewrite: ${((m("with", "seconds") / m("without", "seconds") - 1) * 100).toFixed(1)}% time`,
  ];
}

if (import.meta.main) {
  enterUserFolder(); // relative paths mean the folder the user typed the command in
  const { values } = scriptArgs(BENCH_USAGE, {
    options: {
      case: { type: "string", default: "gzip,stages,tiny" },
      runs: { type: "string", default: "3" },
      input: { type: "string", default: "/usr/share/mricron/templates/ch2.nii.gz" },
      threads: { type: "string" },
      "ct-grid": { type: "string" },
      patch: { type: "string" },
      cxx: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  const input = values.input!;
  const cases = values.case!.split(",");
  const unknown = cases.filter((c) => !BENCH_CASES.some(([n]) => n === c));
  if (unknown.length) {
    console.error(`bench: unknown case ${unknown.join(", ")} (see --help)`);
    Deno.exit(64);
  }
  const threads = values.threads ? ["-t", values.threads] : [];
  const lines: string[] = [
    `siamize bench on ${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
  ];
  if (cases.includes("gzip")) lines.push(...await benchGzip(input, runs));
  if (cases.includes("instance-norm")) lines.push(...await benchInstanceNorm(runs, values.threads));
  if (cases.includes("dicom")) lines.push(...await benchDicom(runs));
  if (cases.includes("stages")) {
    lines.push(...await benchStages(input, runs, Number(values.threads ?? navigator.hardwareConcurrency)));
  }
  const modelCases: [string, string, boolean, string[]][] = [
    ["tiny", "tiny", false, []],
    ["siam", "siam-v0.3", false, []],
    ["siam-fp16", "siam-v0.3", true, []],
    ["siam-128", "siam-v0.3", false, ["-P", "128x128x128"]],
  ];
  const header = [
    `whole runs on ${input} (one fold, CPU), median of runs; seconds unless noted`,
    "| case | patch | tiles | threads | wall | read | load | preprocess | inference | postprocess | write | non-network | peak RSS GiB | runs |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  let headed = false;
  for (const [name, preset, fp16, extra] of modelCases) {
    if (!cases.includes(name)) continue;
    const model = await ensureModel(`${preset}${fp16 ? "_fp16" : ""}.onnx`, preset, fp16);
    if (!headed) lines.push(...header);
    headed = true;
    lines.push(await benchModel(name, input, model, [...extra, ...threads], runs));
  }
  lines.push(
    ...await benchNetworks({
      cases,
      runs,
      threads: Number(values.threads ?? navigator.hardwareConcurrency),
      model: (preset) => ensureModel(`${preset}.onnx`, preset, false),
      ctGrid: values["ct-grid"]?.split("x").map(Number) as [number, number, number] | undefined,
    }),
  );
  lines.push(...await benchGpu(cases, input, runs, threads, ensureModel, runCli));
  lines.push(
    ...await benchSamri(cases, runs, Number(values.threads ?? navigator.hardwareConcurrency), async (preset) => {
      const models = join(await modelsDir(), `${preset}.onnx`);
      const paths = samPaths(models, false);
      if (!(await Promise.all(paths.map((p) => Deno.stat(p).then(() => true, () => false)))).every((x) => x)) {
        await makeModelApart(preset, models, false);
      }
      return paths;
    }),
  );
  const cards = await cardCases(cases, await modelsDir());
  if (cards.length) {
    // Each card case runs on its own generated input, not on --input.
    lines.push(
      `whole runs of the other cards (CLI, CPU), each on its own input: ${
        cards.map((c) => `${c.name} on ${c.input.split(",").map((p) => p.split(/[\\/]/).pop()).join(",")}`).join("; ")
      }; median of runs; seconds unless noted`,
      ...header.slice(1),
    );
  }
  for (const c of cards) lines.push(await benchModel(c.name, c.input, c.model, [...c.extra, ...threads], runs));
  lines.push(
    ...await benchTiles({
      cases,
      input,
      runs,
      threads: Number(values.threads ?? navigator.hardwareConcurrency),
      patch: values.patch,
      runCli,
      model: (preset, fp16) => ensureModel(`${preset}${fp16 ? "_fp16" : ""}.onnx`, preset, fp16),
      cache: await modelsDir(),
    }),
  );
  if (cases.includes("cxx") || cases.includes("folds5-siam")) {
    // Both take the fp16 siam-v0.3 preset on the cropped head.
    const siam = {
      input,
      runs,
      threads: Number(values.threads ?? navigator.hardwareConcurrency),
      model: await ensureModel("siam-v0.3_fp16.onnx", "siam-v0.3", true),
      cache: CACHE,
      runCli,
    };
    if (cases.includes("cxx")) lines.push(...await benchCxx({ ...siam, cxx: values.cxx }));
    if (cases.includes("folds5-siam")) lines.push(...await benchFolds5Siam(siam));
  }
  lines.push(...await benchTab(cases, runs, () => ensureModel("tiny.onnx", "tiny", false)));
  console.log(lines.join("\n"));
}
