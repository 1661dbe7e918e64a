/**
 * Builds ResidualEncoderUNet-shaped ONNX models with seeded weights (nnU-Net's
 * ResEnc topology as SIAM uses it): stem conv, stages of BasicBlockD residual
 * blocks (Conv-InstanceNorm-LeakyReLU, stride on the first block, AvgPool +
 * 1x1 projection on the skip), ConvTranspose decoder with skip concatenation
 * and one conv block per stage, 1x1 segmentation head.
 *
 * Input `x` [N, 1, D, H, W] float32, output `logits` [N, C, D, H, W] float32,
 * dynamic batch and spatial axes. `fp16` stores every weight as float16 and
 * computes in float16 between two Casts (the layout of siamize's weights).
 *
 * @module
 */
import { AttrType, DataType } from "../../lib/engine/onnx_proto.ts";
import { encodeGraph, GraphBuilder, ints } from "./graph_builder.ts";

/** Network shape and weights. */
export interface UNetSpec {
  /** Channels per encoder stage. */
  features: number[];
  /** Residual blocks per encoder stage. */
  blocks: number[];
  /** Stride per stage, (z, y, x). */
  strides: [number, number, number][];
  /** Output classes. */
  classes: number;
  /** Input channels. */
  inChannels: number;
  /** Conv blocks per decoder stage. */
  decoderConvs: number;
  /** Store weights as float16 and compute in float16. */
  fp16: boolean;
  /** PRNG seed for the weights. */
  seed: number;
}

/** Presets: `tiny` for tests, `siam-v0.3` (~141M parameters) for benchmarks. */
export const PRESETS: Record<string, Omit<UNetSpec, "fp16" | "seed">> = {
  tiny: {
    features: [4, 8, 16],
    blocks: [1, 1, 1],
    strides: [[1, 1, 1], [2, 2, 2], [2, 2, 2]],
    classes: 18,
    inChannels: 1,
    decoderConvs: 1,
  },
  "siam-v0.3": {
    features: [32, 64, 128, 256, 320, 320, 320],
    blocks: [1, 3, 4, 6, 6, 6, 6],
    strides: [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 2], [2, 2, 1]],
    classes: 18,
    inChannels: 1,
    decoderConvs: 1,
  },
};

/** Product of strides per axis: patches must be multiples of this (z, y, x). */
export function patchMultiple(spec: Pick<UNetSpec, "strides">): [number, number, number] {
  return spec.strides.reduce((a, s) => [a[0] * s[0], a[1] * s[1], a[2] * s[2]], [1, 1, 1] as [number, number, number]);
}

class ResEncBuilder extends GraphBuilder {
  conv(x: string, cin: number, cout: number, k: number[], stride: number[], bias = true): string {
    const fanIn = cin * k[0] * k[1] * k[2];
    const std = Math.sqrt(2 / fanIn);
    const w = this.tensor("conv_w", [cout, cin, ...k], () => this.normal() * std);
    const inputs = [x, w];
    if (bias) inputs.push(this.tensor("conv_b", [cout], () => this.normal() * 0.01));
    const pads = k.map((s) => (s - 1) >> 1);
    return this.node("Conv", inputs, [
      ints("kernel_shape", k),
      ints("strides", stride),
      ints("pads", [...pads, ...pads]),
    ]);
  }
  norm(x: string, c: number): string {
    const s = this.tensor("in_scale", [c], () => 1 + 0.1 * this.normal());
    const b = this.tensor("in_bias", [c], () => 0.1 * this.normal());
    return this.node("InstanceNormalization", [x, s, b], [{ name: "epsilon", type: AttrType.FLOAT, f: 1e-5 }]);
  }
  relu(x: string): string {
    return this.node("LeakyRelu", [x], [{ name: "alpha", type: AttrType.FLOAT, f: 0.01 }]);
  }
  /** Conv → InstanceNorm → (LeakyReLU). */
  cnr(x: string, cin: number, cout: number, k: number[], stride: number[], act = true): string {
    const y = this.norm(this.conv(x, cin, cout, k, stride), cout);
    return act ? this.relu(y) : y;
  }
  basicBlockD(x: string, cin: number, cout: number, stride: number[]): string {
    const y = this.cnr(this.cnr(x, cin, cout, [3, 3, 3], stride), cout, cout, [3, 3, 3], [1, 1, 1], false);
    let skip = x;
    if (stride.some((s) => s !== 1)) {
      skip = this.node("AveragePool", [skip], [ints("kernel_shape", stride), ints("strides", stride)]);
    }
    if (cin !== cout) skip = this.cnr(skip, cin, cout, [1, 1, 1], [1, 1, 1], false);
    return this.relu(this.node("Add", [y, skip]));
  }
}

/** Builds the model; returns ONNX bytes and the parameter count. */
export function buildResEncUNet(spec: UNetSpec): { bytes: Uint8Array; parameters: number } {
  const g = new ResEncBuilder(spec.fp16, spec.seed);
  const { features: f, blocks, strides } = spec;
  let x = "x";
  if (spec.fp16) x = g.node("Cast", [x], [{ name: "to", type: AttrType.INT, i: DataType.FLOAT16 }], "x_fp16");
  // Encoder.
  x = g.cnr(x, spec.inChannels, f[0], [3, 3, 3], [1, 1, 1]);
  const skips: string[] = [];
  let cin = f[0];
  for (let s = 0; s < f.length; s++) {
    for (let b = 0; b < blocks[s]; b++) {
      x = g.basicBlockD(x, b === 0 ? cin : f[s], f[s], b === 0 ? strides[s] : [1, 1, 1]);
    }
    cin = f[s];
    skips.push(x);
  }
  // Decoder.
  for (let s = f.length - 1; s > 0; s--) {
    const k = strides[s];
    const w = g.tensor("tconv_w", [f[s], f[s - 1], ...k], () => g.normal() * Math.sqrt(1 / f[s]));
    const b = g.tensor("tconv_b", [f[s - 1]], () => g.normal() * 0.01);
    let y = g.node("ConvTranspose", [x, w, b], [ints("kernel_shape", k), ints("strides", k)]);
    y = g.node("Concat", [y, skips[s - 1]], [{ name: "axis", type: AttrType.INT, i: 1 }]);
    for (let c = 0; c < spec.decoderConvs; c++) {
      y = g.cnr(y, c === 0 ? 2 * f[s - 1] : f[s - 1], f[s - 1], [3, 3, 3], [1, 1, 1]);
    }
    x = y;
  }
  const head = g.conv(x, f[0], spec.classes, [1, 1, 1], [1, 1, 1]);
  if (spec.fp16) g.node("Cast", [head], [{ name: "to", type: AttrType.INT, i: DataType.FLOAT }]);
  // The last node produces the graph output "logits".
  g.outputLast("logits");
  const bytes = encodeGraph(g, {
    name: "resenc_unet",
    doc: `ResEncUNet features=${f.join("-")} blocks=${blocks.join("-")} seed=${spec.seed}${spec.fp16 ? " fp16" : ""}`,
    inputs: [{ name: "x", channels: spec.inChannels }],
    outputs: [{ name: "logits", channels: spec.classes }],
  });
  return { bytes, parameters: g.params };
}
