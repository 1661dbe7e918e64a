/**
 * Bench cases of the tile loop and nnU-Net's options (used by `bench.ts`):
 *
 * - `accumulate`: the SIAM test card (`models/testing/analytic.json`) with
 *   the cheap `analytic.onnx` at 64x64x48 tiles on the scan: the loop outside
 *   the network per tile (tile extraction, weighted adds, final division);
 * - `ct-accumulate`: `--card monai-wholebody-ct` with the tiny seeded
 *   SegResNet (`tests/golden/monai/`, 105 classes, 96³ tiles) on the scan
 *   (Colin27 is 181x217x181 at 1 mm): accumulate against inference;
 * - `tta`: the SIAM test card on the golden phantom with and without
 *   `--tta` (8 passes per tile): the cost of mirroring;
 * - `step`: the same with `--step 1`, `0.5` (default) and `0.25`: tiles and time;
 * - `folds5`: five copies of the tiny model in one run, `--release-sessions`
 *   (the one-input default) against `--keep-sessions`, and one fold: peak RSS;
 * - `convtranspose-cpu`: one tile of the siam-v0.3 preset (fp32) through
 *   `tile_bench.ts` without and with the 3-D ConvTranspose rewrite forced on
 *   the CPU, fresh processes, alternating (`--patch`, default 128x128x128).
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import type { RunReport } from "../../lib/run/report.ts";
import { gib, median, ROOT } from "./_common.ts";

/** Names of the cases of this module. */
export const TILE_CASES = ["accumulate", "ct-accumulate", "tta", "step", "folds5", "convtranspose-cpu"] as const;

/** One CLI run: wall seconds and its `--report`. */
type CliRun = (input: string, model: string, extra: string[]) => Promise<{ wall: number; report: RunReport }>;

/** What the cases need from `bench.ts`. */
export interface TileBenchOptions {
  /** Requested case names. */
  cases: string[];
  /** The scan (`--input`). */
  input: string;
  /** Runs per case (per variant). */
  runs: number;
  /** CPU threads (`-t`). */
  threads: number;
  /** `--patch` of `convtranspose-cpu`. */
  patch?: string;
  /** A CLI run with `--report`. */
  runCli: CliRun;
  /** A generated model of `bench.ts`'s cache: preset, fp16. */
  model: (preset: string, fp16: boolean) => Promise<string>;
  /** The bench cache folder for generated models (`folds5/`). */
  cache: string;
}

const GOLDEN = join(ROOT, "tests", "golden");
const ANALYTIC = join(GOLDEN, "analytic.onnx");
const ANALYTIC_CARD = join(ROOT, "models", "testing", "analytic.json");
const SEGRESNET = join(GOLDEN, "monai", "segresnet_tiny_seed0.onnx");

const TILE_HEADER = [
  "| case | input | tiles | inference s | accumulate s | accumulate ms/tile | accumulate/inference | postprocess s | wall s | peak RSS GiB | runs |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
];

function name(p: string): string {
  return p.split("/").pop()!;
}

async function cliRows(o: TileBenchOptions, input: string, model: string, extra: string[], label: string) {
  const rows: { wall: number; report: RunReport }[] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await o.runCli(input, model, [...extra, "-t", String(o.threads)]);
    console.error(
      `${label} run ${i + 1}/${o.runs}: ${
        r.wall.toFixed(1)
      } s, inference ${r.report.seconds.inference} s, accumulate ${r.report.seconds.accumulate} s`,
    );
    rows.push(r);
  }
  const m = (f: (r: { wall: number; report: RunReport }) => number) => median(rows.map(f));
  const s = (k: string) => m((r) => r.report.seconds[k]);
  const tiles = rows[0].report.tiles;
  return {
    tiles,
    inference: s("inference"),
    accumulate: s("accumulate"),
    line: `| ${label} | ${name(input)} | ${tiles} | ${s("inference").toFixed(2)} | ${s("accumulate").toFixed(2)} | ${
      (1000 * m((r) => r.report.seconds.accumulate / r.report.tiles)).toFixed(1)
    } | ${(100 * m((r) => r.report.seconds.accumulate / r.report.seconds.inference)).toFixed(0)}% | ${
      s("postprocess").toFixed(2)
    } | ${m((r) => r.wall).toFixed(1)} | ${gib(m((r) => r.report.peakRssBytes ?? NaN))} | ${o.runs} |`,
  };
}

async function convTransposeCpu(o: TileBenchOptions): Promise<string[]> {
  const model = await o.model("siam-v0.3", false);
  const patch = o.patch ?? "128x128x128";
  const pass = "convtranspose3d->conv+d2s";
  const rows: Record<string, { seconds: number; cpuSeconds: number; peakRssBytes: number }[]> = {
    without: [],
    with: [],
  };
  for (let i = 0; i < o.runs; i++) {
    for (const variant of ["without", "with"]) {
      const args = ["run", "-A", join(ROOT, "scripts", "bench", "tile_bench.ts"), model, "--patch", patch];
      args.push("--threads", String(o.threads));
      if (variant === "with") args.push("--force", pass);
      const r = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" }).output();
      if (!r.success) throw new Error(`tile_bench.ts failed with exit code ${r.code}`);
      const row = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
      console.error(`convtranspose-cpu ${variant} run ${i + 1}/${o.runs}: ${row.seconds.toFixed(2)} s`);
      rows[variant].push(row);
    }
  }
  const m = (v: string, k: "seconds" | "cpuSeconds" | "peakRssBytes") => median(rows[v].map((r) => r[k]));
  return [
    `one ${patch} tile of the siam-v0.3 preset (fp32) on the CPU, ${o.threads} threads, ${o.runs} alternating pairs, median`,
    "| 3-D ConvTranspose | run s | CPU s | peak RSS GiB |",
    "|---|---|---|---|",
    ...["without", "with"].map((v) =>
      `| ${v === "with" ? "Conv 1x1x1 + depth-to-space" : "ConvTranspose (as exported)"} | ${
        m(v, "seconds").toFixed(2)
      } | ${m(v, "cpuSeconds").toFixed(2)} | ${gib(m(v, "peakRssBytes"))} |`
    ),
  ];
}

async function folds5(o: TileBenchOptions): Promise<string[]> {
  const tiny = await o.model("tiny", false);
  const dir = join(o.cache, "folds5");
  await Deno.mkdir(dir, { recursive: true });
  const copies: string[] = [];
  for (let k = 0; k < 5; k++) {
    const p = join(dir, `tiny_fold${k}.onnx`);
    await Deno.copyFile(tiny, p);
    copies.push(p);
  }
  const variants: [string, string, string[]][] = [
    ["1 fold", copies[0], []],
    ["5 folds, --release-sessions (one-input default)", copies.join(","), ["--release-sessions"]],
    ["5 folds, --keep-sessions (batch default)", copies.join(","), ["--keep-sessions"]],
  ];
  const out: Record<string, { wall: number; report: RunReport }[]> = {};
  for (let i = 0; i < o.runs; i++) {
    for (const [label, models, extra] of variants) {
      const r = await o.runCli(o.input, models, [...extra, "-t", String(o.threads)]);
      console.error(
        `folds5 ${label} run ${i + 1}/${o.runs}: ${r.wall.toFixed(1)} s, peak ${gib(r.report.peakRssBytes)} GiB`,
      );
      (out[label] ??= []).push(r);
    }
  }
  return [
    `tiny model (SIAM card, default patch) on ${name(o.input)}, ${o.runs} runs each, median`,
    "| folds | wall s | peak RSS GiB | runs |",
    "|---|---|---|---|",
    ...variants.map(([label]) =>
      `| ${label} | ${median(out[label].map((r) => r.wall)).toFixed(1)} | ${
        gib(median(out[label].map((r) => r.report.peakRssBytes ?? NaN)))
      } | ${o.runs} |`
    ),
  ];
}

/** Runs the requested cases of this module; returns markdown lines (none when no case is requested). */
export async function benchTiles(o: TileBenchOptions): Promise<string[]> {
  const lines: string[] = [];
  const want = (c: string) => o.cases.includes(c);
  const tileRows: string[] = [];
  if (want("accumulate")) {
    tileRows.push(
      (await cliRows(o, o.input, ANALYTIC, ["--card", ANALYTIC_CARD, "-P", "64x64x48"], "accumulate")).line,
    );
  }
  if (want("ct-accumulate")) {
    tileRows.push((await cliRows(o, o.input, SEGRESNET, ["--card", "monai-wholebody-ct"], "ct-accumulate")).line);
  }
  const phantom = join(GOLDEN, "phantom.nii.gz");
  const siam = ["--card", ANALYTIC_CARD, "-P", "64x64x48"];
  if (want("tta")) {
    const plain = await cliRows(o, phantom, ANALYTIC, siam, "no tta");
    const tta = await cliRows(o, phantom, ANALYTIC, [...siam, "--tta"], "--tta");
    tileRows.push(plain.line, tta.line);
    lines.push(`--tta: inference ${(tta.inference / plain.inference).toFixed(1)}x that of one pass per tile`);
  }
  if (want("step")) {
    for (const step of ["1", "0.5", "0.25"]) {
      tileRows.push((await cliRows(o, phantom, ANALYTIC, [...siam, "--step", step], `--step ${step}`)).line);
    }
  }
  if (tileRows.length) {
    lines.unshift(`the tile loop, CPU, ${o.threads} threads, median of runs`, ...TILE_HEADER, ...tileRows);
  }
  if (want("folds5")) lines.push(...await folds5(o));
  if (want("convtranspose-cpu")) lines.push(...await convTransposeCpu(o));
  return lines;
}
