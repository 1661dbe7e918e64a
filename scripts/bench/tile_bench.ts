/**
 * `deno run -A scripts/bench/tile_bench.ts MODEL [--patch ZxYxX] [--threads N] [--skip PASS] [--force PASS] [--profile]`
 *
 * One tile of a model through ONNX Runtime with siamize's CPU session
 * options (arena off, sequential), after the load-time rewrites
 * (`--skip instance-norm` leaves that pass out, to measure what it costs;
 * `--force convtranspose3d->conv+d2s` applies a pass made for another
 * provider, to measure whether it pays on the CPU).
 * Prints one JSON line: rewrite steps and seconds, run wall and CPU seconds,
 * peak RSS, and with `--profile` ORT's per-op kernel time shares. `deno task
 * bench --case instance-norm` runs it in fresh processes.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import process from "node:process";
import { scriptArgs } from "../_cli.ts";
import { parsePatch } from "../../lib/core/types.ts";
import { peakRss } from "./_common.ts";
import { PASSES, rewriteForProvider } from "../../lib/engine/passes/rewrites.ts";
import { quietRuntime, threadOptions } from "../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

/** One line of ORT's profile (chrome trace format). */
interface ProfileEvent {
  cat?: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

/** Kernel seconds per op type, largest first, from an ORT profile file. */
export function opShares(events: ProfileEvent[]): { op: string; seconds: number; share: number; nodes: number }[] {
  const by = new Map<string, { seconds: number; nodes: number }>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    const r = by.get(op) ?? { seconds: 0, nodes: 0 };
    r.seconds += e.dur / 1e6;
    r.nodes++;
    by.set(op, r);
    total += e.dur / 1e6;
  }
  return [...by].map(([op, r]) => ({ op, ...r, share: r.seconds / total })).sort((a, b) => b.seconds - a.seconds);
}

if (import.meta.main) {
  const usage = `tile_bench.ts MODEL [--patch ZxYxX] [--threads N] [--skip PASS[,PASS…]] [--profile]
  One tile of MODEL through ONNX Runtime (CPU, siamize's session options) after the load-time rewrites; one JSON line.
  --patch    tile (default 256x256x192)
  --threads  intra-op threads (default 2)
  --skip     rewrite passes to leave out (${PASSES.map((p) => p.name).join(", ")})
  --profile  ORT's per-op kernel time shares`;
  const { values, positionals } = scriptArgs(usage, {
    allowPositionals: true,
    options: {
      patch: { type: "string", default: "256x256x192" },
      threads: { type: "string", default: "2" },
      skip: { type: "string", default: "" },
      force: { type: "string", default: "" },
      profile: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1) {
    console.error("tile_bench.ts: one MODEL expected (see --help)");
    Deno.exit(64);
  }
  const patch = parsePatch(values.patch!);
  const bytes = await Deno.readFile(positionals[0]);
  const skip = values.skip!.split(",");
  const force = values.force!.split(",");
  const passes = PASSES.filter((p) => !skip.includes(p.name)).map((p) =>
    force.includes(p.name) ? { ...p, wanted: (b: Uint8Array) => p.wanted(b, "cpu") || p.wanted(b, "webgpu") } : p
  );
  const rw = rewriteForProvider(bytes, "cpu", passes);
  const dir = values.profile ? await Deno.makeTempDir({ prefix: "siamize-profile-" }) : undefined;
  const session = await ort.InferenceSession.create(rw.bytes, {
    ...threadOptions(Number(values.threads)),
    graphOptimizationLevel: "all",
    enableCpuMemArena: false,
    enableMemPattern: false,
    enableProfiling: values.profile,
    profileFilePrefix: dir ? `${dir}/ort` : undefined,
  });
  const x = new Float32Array(patch[0] * patch[1] * patch[2]);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i / 977) + 0.2 * Math.cos(i / 13);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, [1, 1, ...patch]) });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  let ops;
  if (dir) {
    session.endProfiling();
    await session.release();
    for (const f of Deno.readDirSync(dir)) ops = opShares(JSON.parse(await Deno.readTextFile(`${dir}/${f.name}`)));
    await Deno.remove(dir, { recursive: true });
  }
  console.log(JSON.stringify({
    steps: rw.steps,
    rewriteSeconds: rw.seconds,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: peakRss(),
    ops,
  }));
}
