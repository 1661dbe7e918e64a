/**
 * ONNX Runtime sessions for networks with several named inputs and outputs
 * (SAM's prompt decoder, its image encoder), beside the one-image-in,
 * logits-out {@linkcode NetworkSession} of `ort.ts`. Same session options
 * (threads, arena, optimisation level) and provider names; `auto` runs on
 * the CPU here (the prompt networks have no warm-up tile to try a GPU
 * provider on), an explicit provider is used as asked.
 *
 * @module
 */
import * as ort from "./_onnxruntime.ts";
import { SiamizeError } from "../core/errors.ts";
import type { Compute } from "../core/types.ts";
import { firstLine, providerFix, providerObstacle, providerOption, threadOptions } from "./ort.ts";

/** A float32 tensor: values and dimensions. */
export interface F32Tensor {
  /** Values, row-major. */
  data: Float32Array;
  /** Dimensions. */
  dims: number[];
}

/** What an input or output of a graph is declared as. */
export interface TensorInfo {
  /** Name. */
  name: string;
  /** Dimensions (a string for a symbolic one), when declared. */
  shape?: (number | string)[];
  /** Element type, when declared ("float32", …). */
  type?: string;
}

/** A loaded multi-input network. */
export interface GraphSession {
  /** Declared inputs, in order. */
  readonly inputs: TensorInfo[];
  /** Declared outputs, in order. */
  readonly outputs: TensorInfo[];
  /** The provider running it. */
  readonly provider: string;
  /** Runs the graph on named float32 inputs; returns the named outputs asked for (all by default). */
  run(feeds: Record<string, F32Tensor>, outputs?: string[]): Promise<Record<string, F32Tensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** How to open a graph session. */
export interface GraphConfig {
  /** Provider (`auto` = CPU here). @default "auto" */
  compute?: Compute;
  /** GPU device id. @default 0 */
  gpu?: number;
  /** Intra-op threads. @default min(cores, 16) */
  threads?: number;
  /** Disable the CPU memory arena (lower peak memory). @default true */
  noArena?: boolean;
}

function info(meta: readonly unknown[], names: readonly string[]): TensorInfo[] {
  return names.map((name) => {
    const m = meta.find((x) => (x as { name?: string }).name === name) as
      | { shape?: (number | string)[]; type?: string; isTensor?: boolean }
      | undefined;
    return { name, shape: m?.shape ? [...m.shape] : undefined, type: m?.type };
  });
}

/**
 * Opens an ONNX model (bytes or a path) with several inputs. `label` names
 * the model in errors (a model that does not load is exit 65).
 */
export async function openGraph(
  model: string | Uint8Array,
  label: string,
  config: GraphConfig = {},
): Promise<GraphSession> {
  const compute = config.compute ?? "auto";
  const p: Compute = compute === "auto" ? "cpu" : compute;
  if (p !== "cpu") {
    const obstacle = providerObstacle(p);
    if (obstacle) throw new SiamizeError(`-c ${p}: cannot start: ${obstacle}${providerFix(p, obstacle)}`);
  }
  const noArena = config.noArena ?? true;
  const opts: ort.InferenceSession.SessionOptions = {
    ...threadOptions(config.threads),
    graphOptimizationLevel: "all",
    enableCpuMemArena: !noArena,
    enableMemPattern: !noArena,
    logSeverityLevel: p === "cpu" ? 3 : 4,
    executionProviders: [providerOption(p, config.gpu ?? 0)],
  };
  ort.env.logLevel = "error";
  let s: ort.InferenceSession;
  try {
    s = typeof model === "string"
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
  } catch (e) {
    if (p !== "cpu") throw new SiamizeError(`-c ${p}: cannot start: ${firstLine(e)}`, 1, { cause: e });
    throw new SiamizeError(`${label}: cannot load model (${firstLine(e)})`, 65, { cause: e });
  }
  const inputs = info(s.inputMetadata as readonly unknown[], s.inputNames);
  const outputs = info(s.outputMetadata as readonly unknown[], s.outputNames);
  return {
    inputs,
    outputs,
    provider: p,
    async run(feeds, names) {
      const f: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor("float32", t.data, t.dims);
      const out = names ? await s.run(f, names) : await s.run(f);
      const r: Record<string, F32Tensor> = {};
      for (const [k, t] of Object.entries(out)) {
        if (t.type !== "float32") throw new SiamizeError(`${label}: output ${k} is ${t.type}, expected float32`);
        r[k] = { data: t.data as Float32Array, dims: [...t.dims] };
      }
      return r;
    },
    release: () => s.release(),
  };
}
