/**
 * Raw network benchmarks for the generated stand-ins of other networks
 * (`deno task bench --case segresnet-tile,segresnet-ct,hnoseg-brats`): only
 * ONNX Runtime's `session.run`, no pipeline. Each run is a fresh child
 * process (this module with `--child`), so peak RSS is that of one model
 * load plus the runs; the table gives medians over runs.
 *
 * - `segresnet-tile`: the `segresnet` preset on one 96³ tile (the bundle's roi)
 * - `segresnet-ct`: the same on every tile of a CT case: MONAI's sliding
 *   window (roi 96³, overlap 0.25 → interval 72) over `--ct-grid` (the
 *   1.5 mm grid, z x y x x; default 168x168x168, a 25 cm cube: 8 tiles)
 * - `hnoseg-brats`: the `hnoseg-xs` preset on one whole 4-channel BraTS
 *   volume, 155x240x240
 *
 * @module
 */
import { scriptArgs } from "../_cli.ts";
import { gib, median, peakRss } from "./_common.ts";
import { quietRuntime, threadOptions } from "../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

/** The case names this module runs. */
export const NETWORK_CASES = ["segresnet-tile", "segresnet-ct", "hnoseg-brats"] as const;

/** How to run {@linkcode benchNetworks}. */
export interface NetworkBenchOptions {
  /** Case names requested (others are ignored). */
  cases: string[];
  /** Runs per case. */
  runs: number;
  /** Intra-op threads. */
  threads: number;
  /** Path of a generated model for a make-model preset (created on first use). */
  model: (preset: string) => Promise<string>;
  /** CT grid for `segresnet-ct`, z x y x x. @default [168, 168, 168] */
  ctGrid?: [number, number, number];
  /** Volume for `hnoseg-brats`, z x y x x. @default [155, 240, 240] */
  brats?: [number, number, number];
}

/** Tiles of MONAI's sliding window per axis (interval int(roi·(1 − overlap)); axes ≤ roi are padded to one tile). */
export function monaiTilesPerAxis(n: number, roi = 96, overlap = 0.25): number {
  if (n <= roi) return 1;
  const interval = Math.trunc(roi * (1 - overlap));
  return Math.ceil((n - roi) / interval) + 1;
}

interface ChildResult {
  load: number;
  run: number;
  peak: number;
}

async function child(model: string, shape: number[], count: number, threads: number): Promise<ChildResult> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--child",
      model,
      "--shape",
      shape.join("x"),
      "--count",
      String(count),
      "--threads",
      String(threads),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!r.success) throw new Error(`benchmark child failed with exit code ${r.code}`);
  const lines = new TextDecoder().decode(r.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** Runs the requested network cases; returns markdown table lines (none when no case is requested). */
export async function benchNetworks(o: NetworkBenchOptions): Promise<string[]> {
  const grid = o.ctGrid ?? [168, 168, 168];
  const ctTiles = grid.reduce((a, n) => a * monaiTilesPerAxis(n), 1);
  const table: [string, string, number[], number][] = [
    ["segresnet-tile", "segresnet", [1, 1, 96, 96, 96], 1],
    ["segresnet-ct", "segresnet", [1, 1, 96, 96, 96], ctTiles],
    ["hnoseg-brats", "hnoseg-xs", [1, 4, ...o.brats ?? [155, 240, 240]], 1],
  ];
  const lines: string[] = [];
  for (const [name, preset, shape, count] of table) {
    if (!o.cases.includes(name)) continue;
    const model = await o.model(preset);
    const rows: ChildResult[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await child(model, shape, count, o.threads);
      console.error(
        `${name} run ${i + 1}/${o.runs}: network ${r.run.toFixed(2)} s, peak ${gib(r.peak)} GiB`,
      );
      rows.push(r);
    }
    if (!lines.length) {
      lines.push(
        `raw network runs (ONNX Runtime CPU, ${o.threads} threads, fresh process per run), median of runs`,
        "| case | input | tiles | load s | network s | s per tile | peak RSS GiB | runs |",
        "|---|---|---|---|---|---|---|---|",
      );
    }
    const m = (f: (r: ChildResult) => number) => median(rows.map(f));
    const input = name === "segresnet-ct" ? `${grid.join("x")} grid, 96³ tiles` : shape.slice(1).join("x");
    lines.push(
      `| ${name} | ${input} | ${count} | ${m((r) => r.load).toFixed(2)} | ${m((r) => r.run).toFixed(2)} | ${
        (m((r) => r.run) / count).toFixed(2)
      } | ${gib(m((r) => r.peak))} | ${o.runs} |`,
    );
  }
  return lines;
}

/** Peak resident set size of this process (VmHWM on Linux, else the current RSS). */

if (import.meta.main) {
  const usage = `bench_networks.ts --child MODEL --shape NxCxDxHxW [--count N] [--threads N]
  The child process of deno task bench's network cases (${NETWORK_CASES.join(", ")}): loads MODEL, runs it
  --count times on a zero input of --shape with --threads intra-op threads (default 1 run, 2 threads), prints JSON.`;
  const { values } = scriptArgs(usage, {
    options: {
      child: { type: "string" },
      shape: { type: "string" },
      count: { type: "string", default: "1" },
      threads: { type: "string", default: "2" },
    },
  });
  if (!values.child || !values.shape) {
    console.error("bench_networks.ts: --child and --shape are needed (see --help)");
    Deno.exit(64);
  }
  const ort = await import("onnxruntime-node");
  const shape = values.shape.split("x").map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  let t = performance.now();
  const s = await ort.InferenceSession.create(values.child, threadOptions(Number(values.threads)));
  const load = (performance.now() - t) / 1000;
  let run = 0;
  for (let i = 0; i < Number(values.count); i++) {
    // Scaled-intensity-like content in [-1, 1], different per tile.
    const x = new Float32Array(n);
    for (let j = 0; j < n; j++) x[j] = Math.sin(j * 0.013 + i) * Math.cos(j * 0.0007);
    t = performance.now();
    await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", x, shape) });
    run += (performance.now() - t) / 1000;
  }
  await s.release();
  console.log(JSON.stringify({ load, run, peak: peakRss() }));
}
