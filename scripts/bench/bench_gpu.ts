/**
 * The GPU cases of `deno task bench`: each model on WebGPU and, for
 * comparison, on the CPU provider, with per-fold wall time, tiles/s and the
 * adapter. ONNX Runtime's WebGPU provider reports no device memory, so peak
 * host RSS is given instead. On a software Vulkan (lavapipe) the figures say
 * nothing about real GPUs.
 *
 * @module
 */
import type { RunReport } from "../../lib/run/report.ts";
import { gib, median } from "./_common.ts";

/** A CLI run's wall time and report. */
interface Row {
  wall: number;
  report: RunReport;
}

/** The GPU cases: name, model preset, fp16, extra CLI arguments. */
export const GPU_CASES: [string, string, boolean, string[]][] = [
  ["tiny-webgpu", "tiny", false, ["-P", "64x64x64", "-u", "3"]],
  ["tiny-fp16-webgpu", "tiny", true, ["-P", "64x64x64", "-u", "3"]],
  ["siam-webgpu", "siam-v0.3", false, []],
  ["siam-fp16-webgpu", "siam-v0.3", true, []],
];

/** Runs the GPU cases named in `cases`; returns table lines (none when no GPU case is asked for). */
export async function benchGpu(
  cases: string[],
  input: string,
  runs: number,
  threads: string[],
  ensureModel: (name: string, preset: string, fp16: boolean) => Promise<string>,
  runCli: (input: string, model: string, extra: string[], compute: string) => Promise<Row>,
): Promise<string[]> {
  const lines: string[] = [];
  for (const [name, preset, fp16, extra] of GPU_CASES) {
    if (!cases.includes(name)) continue;
    const model = await ensureModel(`${preset}${fp16 ? "_fp16" : ""}.onnx`, preset, fp16);
    if (!lines.length) {
      lines.push(
        `GPU cases on ${input} (one fold), median of runs; host RSS, since ORT's WebGPU provider reports no device memory`,
        "| case | provider | adapter | patch | tiles | per-fold wall s | inference s | tiles/s | load s | peak RSS GiB | runs |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
      );
    }
    for (const compute of ["webgpu", "cpu"]) {
      const rows: Row[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await runCli(input, model, [...extra, ...threads], compute);
        console.error(`${name} (${compute}) run ${i + 1}/${runs}: ${r.wall.toFixed(1)} s`);
        rows.push(r);
      }
      const m = (f: (r: Row) => number) => median(rows.map(f));
      const rep = rows[0].report;
      const folds = rep.models.length;
      const inference = m((r) => r.report.seconds.inference);
      lines.push(
        `| ${name} | ${rep.provider} | ${rep.adapter ?? "-"} | ${rep.patch.join("x")} | ${rep.tiles} | ${
          (m((r) => r.wall) / folds).toFixed(2)
        } | ${inference.toFixed(2)} | ${(rep.tiles * folds / inference).toFixed(2)} | ${
          m((r) => r.report.seconds.load).toFixed(2)
        } | ${gib(m((r) => r.report.peakRssBytes ?? NaN))} | ${runs} |`,
      );
    }
  }
  return lines;
}
