/**
 * Sessions of networks with several named inputs and outputs (SAM's image
 * encoder and prompt decoder) over an ONNX Runtime JavaScript session,
 * shared by the onnxruntime-node opener (`ort_graph.ts`) and the
 * onnxruntime-web one (`ort_web.ts`): both packages have the same
 * `InferenceSession` and `Tensor` API. Imports nothing at run time, so the
 * browser build can use it.
 *
 * @module
 */
import { SiamizeError } from "../core/errors.ts";
import type { Compute } from "../core/types.ts";
import type { TensorConstructor } from "./ort_session.ts";

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
  /** Provider (`auto`: the CPU on onnxruntime-node; WebGPU where a browser offers it, else WASM). @default "auto" */
  compute?: Compute;
  /** GPU device id. @default 0 */
  gpu?: number;
  /** Intra-op threads. @default min(cores, 16) */
  threads?: number;
  /** Disable the CPU memory arena (lower peak memory). @default true */
  noArena?: boolean;
}

/**
 * Opens an ONNX model (bytes, or a path where the runtime reads files) as a
 * {@linkcode GraphSession}; `label` names it in errors. `openGraph` of
 * `ort_graph.ts` (onnxruntime-node) and `ortWebGraphOpener` of `ort_web.ts`
 * are the two.
 */
export type GraphOpener = (model: string | Uint8Array, label: string, config?: GraphConfig) => Promise<GraphSession>;

/** What this file needs of an ONNX Runtime `InferenceSession` (node or web). */
export interface OrtGraphLike {
  /** Input names. */
  readonly inputNames: readonly string[];
  /** Output names. */
  readonly outputNames: readonly string[];
  /** Input metadata. */
  readonly inputMetadata: readonly unknown[];
  /** Output metadata. */
  readonly outputMetadata: readonly unknown[];
  /** Runs the model (all outputs, or those named). */
  run(
    feeds: Record<string, unknown>,
    outputs?: readonly string[],
  ): Promise<Record<string, { type: string; data: unknown; dims: readonly number[] }>>;
  /** Frees the session. */
  release(): Promise<void>;
}

function info(meta: readonly unknown[], names: readonly string[]): TensorInfo[] {
  return names.map((name) => {
    const m = meta.find((x) => (x as { name?: string }).name === name) as
      | { shape?: (number | string)[]; type?: string }
      | undefined;
    return { name, shape: m?.shape ? [...m.shape] : undefined, type: m?.type };
  });
}

/** Wraps an ONNX Runtime session (run on `provider`) as a {@linkcode GraphSession}; `label` names it in errors. */
export function wrapGraphSession(
  s: OrtGraphLike,
  Tensor: TensorConstructor,
  provider: string,
  label: string,
): GraphSession {
  return {
    inputs: info(s.inputMetadata, s.inputNames),
    outputs: info(s.outputMetadata, s.outputNames),
    provider,
    async run(feeds, names) {
      const f: Record<string, unknown> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new Tensor("float32", t.data, t.dims);
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
