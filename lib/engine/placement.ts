/**
 * Where ONNX Runtime ran each node, read from its profiling output (one JSON
 * trace per session, each node event naming its execution provider): the
 * verbose-mode check that a GPU run really is on the GPU.
 *
 * @module
 */
import { join } from "../core/_std.ts";

/** One node event of an ORT profile. */
interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: { op_name?: string; provider?: string; output_type_shape?: Record<string, unknown>[] };
}

/** Nodes per provider of an ORT profile trace. */
export interface Placement {
  /** Distinct nodes seen, by provider (e.g. `WebGpuExecutionProvider`). */
  byProvider: Record<string, number>;
  /** Nodes on the CPU provider computing tensors (not shapes): `name (op)`. */
  offloaded: string[];
  /**
   * Nodes on the CPU provider whose outputs are all int64 or single values
   * (shape arithmetic and scalars derived from shapes, kept there by ORT's design).
   */
  shapeNodes: number;
}

/** Reads a parsed ORT profile trace. */
export function parsePlacement(events: ProfileEvent[], gpuProvider: string): Placement {
  const seen = new Map<string, { op: string; provider: string; int64: boolean }>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.provider) continue;
    const name = e.name.slice(0, -"_kernel_time".length);
    const outs = e.args.output_type_shape ?? [];
    const scalar = (dims: unknown) => Array.isArray(dims) && dims.reduce((a: number, d: number) => a * d, 1) <= 1;
    const int64 = outs.length > 0 &&
      outs.every((o) => Object.entries(o).every(([k, dims]) => k === "int64" || scalar(dims)));
    seen.set(name, { op: e.args.op_name ?? "?", provider: e.args.provider, int64 });
  }
  const byProvider: Record<string, number> = {};
  const offloaded: string[] = [];
  let shapeNodes = 0;
  for (const [name, n] of seen) {
    byProvider[n.provider] = (byProvider[n.provider] ?? 0) + 1;
    if (n.provider === gpuProvider) continue;
    if (n.int64) shapeNodes++;
    else offloaded.push(`${name} (${n.op})`);
  }
  return { byProvider, offloaded, shapeNodes };
}

/** ORT's provider name for a `-c` choice. */
export function ortProviderName(p: string): string {
  const names: Record<string, string> = {
    cpu: "CPUExecutionProvider",
    cuda: "CUDAExecutionProvider",
    tensorrt: "TensorrtExecutionProvider",
    webgpu: "WebGpuExecutionProvider",
    coreml: "CoreMLExecutionProvider",
    dml: "DmlExecutionProvider",
  };
  return names[p] ?? p;
}

/** One line on the placement of the profile written into `dir` (the only `.json` there) for provider `p`. */
export async function placementReport(dir: string, p: string): Promise<string> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".json")) files.push(e.name);
  if (!files.length) return `placement unknown (ONNX Runtime wrote no profile)`;
  const events = JSON.parse(await Deno.readTextFile(join(dir, files[0]))) as ProfileEvent[];
  const r = parsePlacement(events, ortProviderName(p));
  const on = r.byProvider[ortProviderName(p)] ?? 0;
  const shapes = r.shapeNodes ? `, ${r.shapeNodes} shape-arithmetic (int64 or scalar) nodes on the CPU` : "";
  if (!r.offloaded.length) return `placement: all ${on} compute nodes on ${p}${shapes}`;
  return `placement: ${on} nodes on ${p}, ${r.offloaded.length} NOT on ${p}: ${r.offloaded.join(", ")}${shapes}`;
}
