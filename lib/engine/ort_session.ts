/**
 * The `NetworkSession` (of `ort.ts`, structurally: no import, no cycle) over
 * an ONNX Runtime JavaScript session,
 * shared by the onnxruntime-node adapter (`ort.ts`) and the onnxruntime-web
 * one (`ort_web.ts`): both packages have the same `InferenceSession` and
 * `Tensor` API. Imports nothing at run time, so the browser build can use it.
 *
 * @module
 */
import type { Shape3 } from "../core/types.ts";
import { SiamizeError } from "../core/errors.ts";

/** What this file needs of an ONNX Runtime `InferenceSession` (node or web). */
export interface OrtLikeSession {
  /** Input names. */
  readonly inputNames: readonly string[];
  /** Output names. */
  readonly outputNames: readonly string[];
  /** Input metadata (shape per input). */
  readonly inputMetadata: readonly unknown[];
  /** Output metadata (shape per output). */
  readonly outputMetadata: readonly unknown[];
  /** Runs the model. */
  run(feeds: Record<string, unknown>): Promise<Record<string, { type: string; data: unknown }>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** An ONNX Runtime `Tensor` constructor (node or web). */
export type TensorConstructor = new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;

/** A loaded network on ONNX Runtime: checks the model's I/O once, then runs (1, K, z, y, x) tiles. */
export class OrtSession {
  readonly inputName: string;
  readonly outputName: string;
  readonly classes: number;
  readonly provider: string;
  readonly adapter?: string;
  readonly inputChannels?: number;
  #session: OrtLikeSession;
  #Tensor: TensorConstructor;

  /** Wraps `session` (run on `provider`); throws a {@linkcode SiamizeError} naming `label` for a model without one image input or a static class dimension. */
  constructor(session: OrtLikeSession, Tensor: TensorConstructor, provider: string, label: string, adapter?: string) {
    this.#session = session;
    this.#Tensor = Tensor;
    this.provider = provider;
    this.adapter = adapter;
    if (session.inputNames.length !== 1) {
      throw new SiamizeError(`${label}: model has ${session.inputNames.length} inputs, expected 1 image input`);
    }
    this.inputName = session.inputNames[0];
    this.outputName = session.outputNames[0];
    const meta = session.outputMetadata.find((m) => (m as { name: string }).name === this.outputName) as
      | { shape?: (number | string)[] }
      | undefined;
    const c = meta?.shape?.[1];
    if (typeof c !== "number" || !(c >= 2)) {
      throw new SiamizeError(
        `${label}: model output "${this.outputName}" has no static class dimension (shape ${
          JSON.stringify(meta?.shape)
        })`,
      );
    }
    this.classes = c;
    const inMeta = session.inputMetadata.find((m) => (m as { name: string }).name === this.inputName) as
      | { shape?: (number | string)[] }
      | undefined;
    const k = inMeta?.shape?.[1];
    if (typeof k === "number") this.inputChannels = k;
  }

  async run(tile: Float32Array, patch: Shape3): Promise<Float32Array> {
    const voxels = patch[0] * patch[1] * patch[2];
    const channels = tile.length / voxels;
    if (!Number.isInteger(channels) || channels < 1) {
      throw new RangeError(`tile has ${tile.length} values, not a multiple of the patch ${patch.join("x")}`);
    }
    const x = new this.#Tensor("float32", tile, [1, channels, ...patch]);
    const out = await this.#session.run({ [this.inputName]: x });
    const y = out[this.outputName];
    if (y.type !== "float32") throw new SiamizeError(`model output is ${y.type}, expected float32`);
    // Both runtimes copy outputs into fresh JS memory: use it as is (a
    // copy of an 18-channel full-size tile is ~0.9 GB).
    return y.data as Float32Array;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}
