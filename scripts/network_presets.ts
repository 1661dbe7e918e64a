/**
 * `make-model` presets for networks other than SIAM's ResEnc U-Net: each
 * builds a same-shaped model with seeded weights (float32 only).
 *
 * - `segresnet`: MONAI's SegResNet as the `wholeBody_ct_segmentation` bundle
 *   configures it (18.8M parameters; see `segresnet_builder.ts`)
 * - `hnoseg-xs`: IBM's HNOSeg-XS for BraTS'23 (28,248 parameters, logits;
 *   see `hnoseg_builder.ts`)
 *
 * @module
 */
import { buildHNOSeg, HNOSEG_XS } from "./hnoseg_builder.ts";
import { buildSegResNet, SEGRESNET_WHOLEBODY_CT } from "./segresnet_builder.ts";

/** A built model: ONNX bytes and its parameter count. */
export interface BuiltModel {
  /** ONNX bytes. */
  bytes: Uint8Array;
  /** Weight values in the model. */
  parameters: number;
}

/** Builders by preset name, taking the weight seed. */
export const NETWORK_PRESETS: Record<string, (seed: number) => BuiltModel> = {
  segresnet: (seed) => buildSegResNet({ ...SEGRESNET_WHOLEBODY_CT, seed }),
  "hnoseg-xs": (seed) => buildHNOSeg({ ...HNOSEG_XS, seed }),
};
