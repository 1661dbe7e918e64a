/**
 * Builds ONNX models shaped like MONAI's `SegResNet` (monai.networks.nets,
 * no VAE) with seeded weights, as the model-zoo bundle
 * `wholeBody_ct_segmentation` configures it: 3-D, 1 input channel, 105
 * outputs, init_filters 32, blocks_down [1, 2, 2, 4], blocks_up [1, 1, 1],
 * GroupNorm with 8 groups (ε 1e-5, affine), ReLU, upsample mode
 * `nontrainable` (the bundle does not set it: MONAI's default, a trilinear
 * ×2 resize with align_corners=False after a 1x1 conv), dropout (0.2 in the
 * bundle) only after the first conv and off at inference, so absent here.
 *
 * Topology (read from MONAI's `segresnet.py` / `segresnet_block.py`):
 * `convInit` 3x3x3 conv (no bias) → down level i (channels f·2^i): a
 * stride-2 3x3x3 conv for i > 0, then `blocks_down[i]` ResBlocks (GN → ReLU
 * → conv3 → GN → ReLU → conv3, + identity; convs without bias) → up level
 * i: 1x1 conv halving the channels, ×2 trilinear resize, + the encoder
 * output of that size, `blocks_up[i]` ResBlocks → GN → ReLU → 1x1 conv with
 * bias to the classes. Initialisers carry MONAI's state-dict names (e.g.
 * `down_layers.1.2.norm1.weight`), so real weights map one to one.
 *
 * GroupNorm is written with plain ops because ONNX Runtime's CPU
 * `InstanceNormalization` (what torch.onnx emits for GroupNorm) loses
 * accuracy on millions of voxels (issue 11): `two-level` (default) reshapes
 * to [N, G, C/G, D, H, W] and takes each mean as a mean over (H, W) then
 * over (C/G, D); `instance-norm` is torch.onnx's form (Reshape [N, G, -1] →
 * InstanceNormalization → Reshape → affine), kept to measure against.
 *
 * Input `image` [N, 1, D, H, W] float32 (D, H, W multiples of 8), output
 * `logits` [N, 105, D, H, W] float32 (no softmax: argmax needs none).
 *
 * @module
 */
import { encodeGraph, float, GraphBuilder, int, ints, str } from "./graph_builder.ts";

/** How GroupNorm is expressed in the graph. */
export type GroupNormForm = "two-level" | "instance-norm";

/** Network shape, weights and GroupNorm form. */
export interface SegResNetSpec {
  /** Input channels. */
  inChannels: number;
  /** Output channels (classes). */
  outChannels: number;
  /** Channels of the first level; level i has initFilters·2^i. */
  initFilters: number;
  /** ResBlocks per encoder level. */
  blocksDown: number[];
  /** ResBlocks per decoder level. */
  blocksUp: number[];
  /** GroupNorm groups. */
  groups: number;
  /** PRNG seed for the weights. */
  seed: number;
  /** GroupNorm form. @default "two-level" */
  groupNorm?: GroupNormForm;
  /** Weights to use instead of seeded ones, by MONAI state-dict name (e.g. a real export's initialisers). */
  weights?: (name: string, dims: number[]) => Float32Array | undefined;
}

/** The wholeBody_ct_segmentation bundle's network (`network_def` in its inference.json). */
export const SEGRESNET_WHOLEBODY_CT: Omit<SegResNetSpec, "seed"> = {
  inChannels: 1,
  outChannels: 105,
  initFilters: 32,
  blocksDown: [1, 2, 2, 4],
  blocksUp: [1, 1, 1],
  groups: 8,
};

/** Spatial sizes must be multiples of this (one stride-2 conv per level after the first). */
export function segResNetMultiple(spec: Pick<SegResNetSpec, "blocksDown">): number {
  return 2 ** (spec.blocksDown.length - 1);
}

/**
 * MONAI's parameter count for this configuration, in closed form from the
 * architecture (independent of the graph builder): a ResBlock on c channels
 * has two bias-free 3x3x3 convs (2·27c²) and two affine GroupNorms (4c).
 */
export function segResNetParameterCount(s: Omit<SegResNetSpec, "seed">): number {
  const f = s.initFilters;
  const res = (c: number) => 54 * c * c + 4 * c;
  let n = 27 * s.inChannels * f; // convInit
  s.blocksDown.forEach((b, i) => {
    const c = f * 2 ** i;
    if (i > 0) n += 27 * (c / 2) * c; // stride-2 conv
    n += b * res(c);
  });
  const up = s.blocksUp.length;
  s.blocksUp.forEach((b, i) => {
    const c = f * 2 ** (up - i);
    n += c * (c / 2) + b * res(c / 2); // 1x1 conv + ResBlocks
  });
  return n + 2 * f + f * s.outChannels + s.outChannels; // final GN + 1x1 conv with bias
}

class SegResNetBuilder extends GraphBuilder {
  constructor(readonly spec: SegResNetSpec) {
    super(false, spec.seed);
  }
  weight(name: string, dims: number[], fill: () => number): string {
    const given = this.spec.weights?.(name, dims);
    if (given) {
      const n = dims.reduce((a, c) => a * c, 1);
      if (given.length !== n) throw new Error(`weight ${name}: ${given.length} values, expected ${n}`);
      return this.param(name, dims, (i) => given[i]);
    }
    return this.param(name, dims, fill);
  }
  conv(x: string, name: string, cin: number, cout: number, k: number, stride = 1, bias = false): string {
    const std = Math.sqrt(2 / (cin * k ** 3));
    const inputs = [x, this.weight(`${name}.weight`, [cout, cin, k, k, k], () => this.normal() * std)];
    if (bias) inputs.push(this.weight(`${name}.bias`, [cout], () => this.normal() * 0.01));
    const p = (k - 1) >> 1;
    return this.node("Conv", inputs, [
      ints("kernel_shape", [k, k, k]),
      ints("strides", [stride, stride, stride]),
      ints("pads", [p, p, p, p, p, p]),
    ]);
  }
  groupNorm(x: string, name: string, c: number): string {
    const g = this.spec.groups;
    const gamma = this.weight(`${name}.weight`, [c], () => 1 + 0.1 * this.normal());
    const beta = this.weight(`${name}.bias`, [c], () => 0.1 * this.normal());
    const y = this.spec.groupNorm === "instance-norm" ? this.groupNormIN(x, g) : groupNormTwoLevel(this, x, c, g);
    const bshape = this.constant([1, c, 1, 1, 1], [5], "int64");
    const s = this.node("Reshape", [gamma, bshape]), b = this.node("Reshape", [beta, bshape]);
    return this.node("Add", [this.node("Mul", [y, s]), b]);
  }
  /** torch.onnx's form: Reshape [N, G, -1] → InstanceNormalization → Reshape back. */
  groupNormIN(x: string, g: number): string {
    const r = this.node("Reshape", [x, this.constant([0, g, -1], [3], "int64")]);
    const n = this.node(
      "InstanceNormalization",
      [r, this.constant(Array(g).fill(1)), this.constant(Array(g).fill(0))],
      [
        float("epsilon", 1e-5),
      ],
    );
    return this.node("Reshape", [n, this.node("Shape", [x])]);
  }
  resBlock(x: string, name: string, c: number): string {
    let y = this.node("Relu", [this.groupNorm(x, `${name}.norm1`, c)]);
    y = this.conv(y, `${name}.conv1.conv`, c, c, 3);
    y = this.node("Relu", [this.groupNorm(y, `${name}.norm2`, c)]);
    y = this.conv(y, `${name}.conv2.conv`, c, c, 3);
    return this.node("Add", [y, x]);
  }
}

/**
 * GroupNorm without affine, as a graph: x [N, C, D, H, W] viewed as
 * [N, G, C/G, D, H, W]; mean and variance each a mean over (H, W) then over
 * (C/G, D) (keeps float32 sums short); (x − μ)/√(σ² + ε), reshaped back.
 */
export function groupNormTwoLevel(g: GraphBuilder, x: string, c: number, groups: number, eps = 1e-5): string {
  const shape = g.node("Shape", [x]);
  const spatial = g.node("Slice", [shape, g.constant([2], [1], "int64"), g.constant([5], [1], "int64")]);
  const six = g.node("Concat", [g.constant([0, groups, c / groups], [3], "int64"), spatial], [int("axis", 0)]);
  const v = g.node("Reshape", [x, six]);
  const mean = (t: string, axes: number[]) => g.node("ReduceMean", [t], [ints("axes", axes), int("keepdims", 1)]);
  const mean2 = (t: string) => mean(mean(t, [4, 5]), [2, 3]);
  const mu = mean2(v);
  const d = g.node("Sub", [v, mu]);
  const variance = mean2(g.node("Mul", [d, d]));
  const sd = g.node("Sqrt", [g.node("Add", [variance, g.constant([eps], [])])]);
  return g.node("Reshape", [g.node("Div", [d, sd]), shape]);
}

/** Builds the model; returns ONNX bytes and the parameter count (weights only). */
export function buildSegResNet(spec: SegResNetSpec): { bytes: Uint8Array; parameters: number } {
  const g = new SegResNetBuilder(spec);
  const f = spec.initFilters;
  let x = g.conv("image", "convInit.conv", spec.inChannels, f, 3);
  const skips: string[] = [];
  spec.blocksDown.forEach((blocks, i) => {
    const c = f * 2 ** i;
    if (i > 0) x = g.conv(x, `down_layers.${i}.0.conv`, c / 2, c, 3, 2);
    for (let b = 0; b < blocks; b++) x = g.resBlock(x, `down_layers.${i}.${b + 1}`, c);
    skips.push(x);
  });
  const up = spec.blocksUp.length;
  spec.blocksUp.forEach((blocks, i) => {
    const c = f * 2 ** (up - i);
    x = g.conv(x, `up_samples.${i}.0.conv`, c, c / 2, 1);
    x = g.node("Resize", [x, "", g.constant([1, 1, 2, 2, 2])], [
      str("mode", "linear"),
      str("coordinate_transformation_mode", "half_pixel"),
    ]);
    x = g.node("Add", [x, skips[skips.length - 2 - i]]);
    for (let b = 0; b < blocks; b++) x = g.resBlock(x, `up_layers.${i}.${b}`, c / 2);
  });
  x = g.node("Relu", [g.groupNorm(x, "conv_final.0", f)]);
  g.conv(x, "conv_final.2.conv", f, spec.outChannels, 1, 1, true);
  g.outputLast("logits");
  const bytes = encodeGraph(g, {
    name: "segresnet",
    doc: `MONAI SegResNet-shaped: init_filters=${f} blocks_down=${spec.blocksDown.join("-")} blocks_up=${
      spec.blocksUp.join("-")
    } groups=${spec.groups} out=${spec.outChannels} groupnorm=${spec.groupNorm ?? "two-level"} seed=${spec.seed}`,
    inputs: [{ name: "image", channels: spec.inChannels }],
    outputs: [{ name: "logits", channels: spec.outChannels }],
  });
  return { bytes, parameters: g.params };
}

/** A model with one GroupNorm (no affine) on [N, channels, D, H, W], for accuracy checks. */
export function buildGroupNormModel(channels: number, groups: number, form: GroupNormForm): Uint8Array {
  const g = new SegResNetBuilder({ ...SEGRESNET_WHOLEBODY_CT, groups, seed: 1, groupNorm: form });
  if (form === "instance-norm") g.groupNormIN("x", groups);
  else groupNormTwoLevel(g, "x", channels, groups);
  g.outputLast("y");
  return encodeGraph(g, {
    name: "groupnorm",
    doc: `GroupNorm ${form} groups=${groups}`,
    inputs: [{ name: "x", channels }],
    outputs: [{ name: "y", channels }],
  });
}
