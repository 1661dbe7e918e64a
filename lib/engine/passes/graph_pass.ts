/**
 * The shape of one ONNX graph rewrite, shared by the passes and the
 * pass list in `rewrites.ts` (kept apart so the passes need not import it back).
 *
 * @module
 */
import type { ModelProto } from "../onnx_proto.ts";

/** One graph rewrite. */
export interface GraphPass {
  /** Short name for logs and reports. */
  name: string;
  /**
   * Whether the pass may change this model on this provider, decided
   * cheaply from the bytes (no decode); `false` skips it.
   */
  wanted(bytes: Uint8Array, provider: string): boolean;
  /** Rewrites the decoded model in place; returns what it did, or undefined when nothing changed. */
  run(model: ModelProto, provider: string): string | undefined;
}
