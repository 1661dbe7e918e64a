/**
 * `make-model` presets for networks other than SIAM's ResEnc U-Net: each
 * builds a same-shaped model (float32) with seeded weights, or with real
 * weights read by name from an ONNX file (`--weights`).
 *
 * - `segresnet`: MONAI's SegResNet as the `wholeBody_ct_segmentation` bundle
 *   configures it (18.8M parameters; see `segresnet_builder.ts`)
 * - `hnoseg-xs`: IBM's HNOSeg-XS for BraTS'23 (28,248 parameters, logits;
 *   see `hnoseg_builder.ts`)
 *
 * @module
 */
import { DataType, decodeModel, num } from "../../lib/engine/onnx_proto.ts";
import { buildHNOSeg, HNOSEG_XS } from "./hnoseg_builder.ts";
import { buildSegResNet, SEGRESNET_WHOLEBODY_CT } from "./segresnet_builder.ts";

/** A built model: ONNX bytes and its parameter count. */
export interface BuiltModel {
  /** ONNX bytes. */
  bytes: Uint8Array;
  /** Weight values in the model. */
  parameters: number;
}

/** Weights by the network's state-dict name. */
export type WeightSource = (name: string, dims: number[]) => Float32Array | undefined;

/** Builders by preset name, taking the weight seed and optionally real weights. */
export const NETWORK_PRESETS: Record<string, (seed: number, weights?: WeightSource) => BuiltModel> = {
  segresnet: (seed, weights) => buildSegResNet({ ...SEGRESNET_WHOLEBODY_CT, seed, weights }),
  "hnoseg-xs": (seed, weights) => buildHNOSeg({ ...HNOSEG_XS, seed, weights }),
};

/**
 * The float32 initialisers of an ONNX file (a torch.onnx export, or the
 * weights-only file of `export_hnoseg_xs.py`) as a {@linkcode WeightSource}.
 * A builder weight missing from the file, or with another number of
 * values, is an error naming it.
 */
export function weightsFromOnnx(bytes: Uint8Array, label: string): WeightSource {
  const found = new Map<string, Float32Array>();
  for (const t of decodeModel(bytes).graph?.initializer ?? []) {
    if (t.data_type !== DataType.FLOAT || !t.name) continue;
    const n = (t.dims ?? []).reduce((a: number, d) => a * num(d), 1);
    const v = t.raw_data?.length ? new Float32Array(t.raw_data.slice().buffer) : Float32Array.from(t.float_data ?? []);
    if (v.length !== n) throw new Error(`${label}: initialiser ${t.name} has ${v.length} values for ${n}`);
    found.set(t.name, v);
  }
  return (name, dims) => {
    const v = found.get(name);
    if (!v) throw new Error(`${label}: no float32 initialiser named "${name}" (is it this network's export?)`);
    const n = dims.reduce((a, c) => a * c, 1);
    if (v.length !== n) throw new Error(`${label}: ${name} has ${v.length} values, this network needs ${n}`);
    return v;
  };
}
