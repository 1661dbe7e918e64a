/**
 * Builds ONNX models shaped like HNOSeg-XS (IBM
 * multimodal-3d-image-segmentation, `nets/hnosegxs.py`, Hartley neural
 * operator) with seeded weights. The BraTS'23 configuration
 * (`config_hnoseg_xs.ini`): 4 inputs, 4 outputs, 24 filters, 8 blocks of 3
 * frequency-domain convolutions, kept modes (10, 14, 14) for (D, H, W),
 * shared weights, SELU and no normalisation layers: 28,248 parameters.
 *
 * Topology (read from the public code): `conv_in` 2x2x2 stride-2 conv
 * (padding 1, so n → ⌊n/2⌋ + 1) + SELU, `conv1` 1x1 + SELU, then blocks
 * 0..7; block i > 4 first concatenates the output of block 7 − i (U-Net
 * skips). A block: a 1x1 `mapping_conv` + SELU when its input has 48
 * channels; the 3-D discrete Hartley transform (1/N scaled) cropped to the
 * kept corner frequencies (the first and last m of each axis, m = min(mode,
 * ⌊n/2⌋)); three times x ← SELU(W·x + x) with one shared 24x24 channel mix
 * each; zero-padded inverse transform (unscaled); SELU; concatenation with
 * the block input and a 1x1 `conv_concat` + SELU. Then a trilinear resize
 * (align_corners=False) to the input size and a 1x1 `conv_out` without bias
 * (here the conv comes first: the same result, 6x less to resize).
 *
 * The transforms are matrix products over the kept frequencies, built in
 * the graph from the runtime shape (Range, Mod, Cos, Sin), so one model
 * takes any spatial size: per axis a [n, 4m] matrix [cos | sin] of
 * 2π·(j·k mod n)/n; the 3-D kernel cas(a + b + c) expands to the eight
 * products of per-axis cos/sin with sign +1 when at most one factor is a
 * sine, −1 otherwise, so after three separable MatMuls one 8-vector
 * contraction gives the transform (and the inverse runs the same steps
 * backwards).
 *
 * Input `image` [N, 4, D, H, W] float32, output `logits` [N, 4, D, H, W]:
 * the network's softmax is left out by default (labels are the argmax of
 * the logits either way); `softmax: true` adds it.
 *
 * @module
 */
import { encodeGraph, GraphBuilder, int, ints, str } from "./graph_builder.ts";

/** Network shape and weights. */
export interface HNOSegSpec {
  /** Input channels (modalities). */
  inChannels: number;
  /** Output channels (classes). */
  outChannels: number;
  /** Channels of every layer but the output. */
  filters: number;
  /** Frequency-domain convolutions per block; the length is the number of blocks. */
  blocks: number[];
  /** Kept modes per axis (D, H, W): the first and last m frequencies of each. */
  modes: [number, number, number];
  /** Append a softmax over the classes. @default false */
  softmax?: boolean;
  /** Resize the 24 channels, then apply `conv_out` (the original order) instead of the reverse. @default false */
  resizeFirst?: boolean;
  /** Weights to use instead of seeded ones, by the network's state-dict name (same number of values). */
  weights?: (name: string, dims: number[]) => Float32Array | undefined;
  /** PRNG seed for the weights. */
  seed: number;
}

/** HNOSeg-XS for BraTS'23 (`config_hnoseg_xs.ini`). */
export const HNOSEG_XS: Omit<HNOSegSpec, "seed"> = {
  inChannels: 4,
  outChannels: 4,
  filters: 24,
  blocks: [3, 3, 3, 3, 3, 3, 3, 3],
  modes: [10, 14, 14],
};

/** The parameter count of this configuration, in closed form from the architecture. */
export function hnosegParameterCount(s: Omit<HNOSegSpec, "seed">): number {
  const f = s.filters, nb = s.blocks.length;
  let n = s.inChannels * f * 8 + f + f * f + f; // conv_in (2x2x2) and conv1, with biases
  s.blocks.forEach((convs, i) => {
    const cin = i > nb >> 1 ? 2 * f : f;
    if (cin !== f) n += cin * f + f; // mapping_conv
    n += convs * f * f + 2 * f * f + f; // shared channel mixes + conv_concat
  });
  return n + f * s.outChannels; // conv_out, no bias
}

/** Sign of each of the eight cos/sin products of cas(a + b + c), index 4·pW + 2·pH + pD (1 = sine). */
export const CAS3_SIGNS: readonly number[] = Array.from({ length: 8 }, (_, i) => {
  const sines = (i & 1) + ((i >> 1) & 1) + ((i >> 2) & 1);
  return sines <= 1 ? 1 : -1;
});

/** The per-axis transform matrices and shapes of one spatial size (graph tensor names). */
interface Spectral {
  /** Forward [n, 4m] per axis D, H, W (1/n scaled). */
  fwd: [string, string, string];
  /** Inverse [4m, n] per axis. */
  inv: [string, string, string];
  /** int64 [1] tensors 2m per axis. */
  twoM: [string, string, string];
}

/** Builds the graph of HNOSeg-shaped networks. */
export class HNOBuilder extends GraphBuilder {
  constructor(seed: number, readonly weights?: HNOSegSpec["weights"]) {
    super(false, seed);
  }
  override param(name: string, dims: number[], fill: (i: number) => number): string {
    const given = this.weights?.(name, dims);
    if (!given) return super.param(name, dims, fill);
    const n = dims.reduce((a, c) => a * c, 1);
    if (given.length !== n) throw new Error(`weight ${name}: ${given.length} values, expected ${n}`);
    return super.param(name, dims, (i) => given[i]);
  }
  /** Conv with SNN initialisation (normal, std 1/√fan_in; bias uniform ±0.001). */
  conv(x: string, name: string, cin: number, cout: number, k = 1, stride = 1, pad = 0, bias = true): string {
    const std = 1 / Math.sqrt(cin * k ** 3);
    const inputs = [x, this.param(`${name}.weight`, [cout, cin, k, k, k], () => this.normal() * std)];
    if (bias) inputs.push(this.param(`${name}.bias`, [cout], () => (this.uniform() * 2 - 1) * 1e-3));
    return this.node("Conv", inputs, [
      ints("kernel_shape", [k, k, k]),
      ints("strides", [stride, stride, stride]),
      ints("pads", Array(6).fill(pad)),
    ]);
  }
  selu(x: string): string {
    return this.node("Selu", [x]);
  }
  i64(v: number[]): string {
    return this.constant(v, [v.length], "int64");
  }
  /** Transform matrices for the spatial size of `x` [N, C, D, H, W], kept modes `modes`. */
  spectral(x: string, modes: [number, number, number]): Spectral {
    const shape = this.node("Shape", [x]);
    const axis = (a: number) => {
      const n = this.node("Slice", [shape, this.i64([a + 2]), this.i64([a + 3])]); // [1]
      const m = this.node("Min", [this.node("Div", [n, this.i64([2])]), this.i64([modes[a]])]);
      const scalar = (t: string) => this.node("Squeeze", [t, this.i64([0])]);
      const ns = scalar(n), ms = scalar(m);
      const zero = this.constant([0], [], "int64"), one = this.constant([1], [], "int64");
      const j = this.node("Range", [zero, ns, one]);
      const k = this.node("Concat", [
        this.node("Range", [zero, ms, one]),
        this.node("Range", [this.node("Sub", [ns, ms]), ns, one]),
      ], [int("axis", 0)]);
      const jk = this.node("Mul", [
        this.node("Unsqueeze", [j, this.i64([1])]),
        this.node("Unsqueeze", [k, this.i64([0])]),
      ]);
      const nf = this.node("Cast", [n], [int("to", 1)]);
      const theta = this.node("Mul", [
        this.node("Cast", [this.node("Mod", [jk, n])], [int("to", 1)]),
        this.node("Div", [this.constant([2 * Math.PI], [1]), nf]),
      ]);
      const cs = this.node("Concat", [this.node("Cos", [theta]), this.node("Sin", [theta])], [int("axis", 1)]);
      return {
        fwd: this.node("Div", [cs, nf]),
        inv: this.node("Transpose", [cs], [ints("perm", [1, 0])]),
        twoM: this.node("Mul", [m, this.i64([2])]),
      };
    };
    const [d, h, w] = [axis(0), axis(1), axis(2)];
    return { fwd: [d.fwd, h.fwd, w.fwd], inv: [d.inv, h.inv, w.inv], twoM: [d.twoM, h.twoM, w.twoM] };
  }
  shape(parts: (number[] | string)[]): string {
    return this.node("Concat", parts.map((p) => (typeof p === "string" ? p : this.i64(p))), [int("axis", 0)]);
  }
  /** [N, C, D, H, W] → kept Hartley coefficients [N, C, 2mW, 2mH, 2mD] (1/N scaled). */
  forward(x: string, s: Spectral): string {
    const [mD, mH, mW] = s.twoM;
    let a = this.node("MatMul", [x, s.fwd[2]]); // [N,C,D,H,4mW]
    a = this.node("MatMul", [this.node("Transpose", [a], [ints("perm", [0, 1, 2, 4, 3])]), s.fwd[1]]); // [N,C,D,4mW,4mH]
    a = this.node("MatMul", [this.node("Transpose", [a], [ints("perm", [0, 1, 3, 4, 2])]), s.fwd[0]]); // [N,C,4mW,4mH,4mD]
    a = this.node("Reshape", [a, this.shape([[0, 0, 2], mW, [2], mH, [2], mD])]);
    a = this.node("Transpose", [a], [ints("perm", [0, 1, 3, 5, 7, 2, 4, 6])]); // [N,C,2mW,2mH,2mD,2,2,2]
    a = this.node("Reshape", [a, this.shape([[0, 0], mW, mH, mD, [8]])]);
    a = this.node("MatMul", [a, this.constant([...CAS3_SIGNS], [8, 1])]);
    return this.node("Reshape", [a, this.shape([[0, 0], mW, mH, mD])]);
  }
  /** Kept coefficients [N, C, 2mW, 2mH, 2mD] → zero-padded inverse transform [N, C, D, H, W] (unscaled). */
  inverse(f: string, s: Spectral): string {
    const [mD, mH, mW] = s.twoM;
    let e = this.node("Reshape", [f, this.shape([[0, 0], mW, mH, mD, [1]])]);
    e = this.node("Mul", [e, this.constant([...CAS3_SIGNS], [8])]);
    e = this.node("Reshape", [e, this.shape([[0, 0], mW, mH, mD, [2, 2, 2]])]);
    e = this.node("Transpose", [e], [ints("perm", [0, 1, 5, 2, 6, 3, 7, 4])]); // [N,C,2,2mW,2,2mH,2,2mD]
    const four = (t: string) => this.node("Mul", [t, this.i64([2])]);
    e = this.node("Reshape", [e, this.shape([[0, 0], four(mW), four(mH), four(mD)])]);
    e = this.node("MatMul", [e, s.inv[0]]); // [N,C,4mW,4mH,D]
    e = this.node("MatMul", [this.node("Transpose", [e], [ints("perm", [0, 1, 4, 2, 3])]), s.inv[1]]); // [N,C,D,4mW,H]
    return this.node("MatMul", [this.node("Transpose", [e], [ints("perm", [0, 1, 2, 4, 3])]), s.inv[2]]); // [N,C,D,H,W]
  }
  /** Transform, `convs` times x ← SELU(W·x + x) with a shared channel mix, inverse transform. */
  hartleyLayer(x: string, s: Spectral, name: string, c: number, convs: number): string {
    let f = this.forward(x, s);
    for (let j = 0; j < convs; j++) {
      const y = this.conv(f, `${name}.conv_blocks.${j}.op`, c, c, 1, 1, 0, false);
      f = this.selu(this.node("Add", [y, f]));
    }
    return this.inverse(f, s);
  }
}

/** Builds the model; returns ONNX bytes and the parameter count (weights only). */
export function buildHNOSeg(spec: HNOSegSpec): { bytes: Uint8Array; parameters: number } {
  const g = new HNOBuilder(spec.seed, spec.weights);
  const f = spec.filters, nb = spec.blocks.length;
  let x = g.selu(g.conv("image", "conv_in.op", spec.inChannels, f, 2, 2, 1));
  x = g.selu(g.conv(x, "conv1.op", f, f));
  const s = g.spectral(x, spec.modes);
  const encoded: string[] = [];
  spec.blocks.forEach((convs, i) => {
    let cin = f;
    if (i > nb >> 1) {
      x = g.node("Concat", [x, encoded[nb - 1 - i]], [int("axis", 1)]);
      cin += f;
    }
    if (cin !== f) x = g.selu(g.conv(x, `layers.${i}.mapping_conv.op`, cin, f));
    const y = g.selu(g.hartleyLayer(x, s, `layers.${i}`, f, convs));
    x = g.selu(g.conv(g.node("Concat", [y, x], [int("axis", 1)]), `layers.${i}.conv_concat.op`, 2 * f, f));
    if (i < nb >> 1) encoded.push(x);
  });
  // conv_out (1x1, no bias) before the resize by default: both are linear
  // per voxel/channel, so the result is the same up to float rounding, and
  // the resize then moves 4 channels instead of 24 (at 155x240x240 on 2
  // cores: ~1.4 s and ~1 GiB less).
  const resize = (t: string) => {
    const sizes = g.node("Concat", [
      g.node("Slice", [g.node("Shape", [t]), g.i64([0]), g.i64([2])]),
      g.node("Slice", [g.node("Shape", ["image"]), g.i64([2]), g.i64([5])]),
    ], [int("axis", 0)]);
    return g.node("Resize", [t, "", "", sizes], [
      str("mode", "linear"),
      str("coordinate_transformation_mode", "pytorch_half_pixel"),
    ]);
  };
  const out = (t: string) => g.conv(t, "conv_out", f, spec.outChannels, 1, 1, 0, false);
  x = spec.resizeFirst ? out(resize(x)) : resize(out(x));
  if (spec.softmax) g.node("Softmax", [x], [int("axis", 1)]);
  g.outputLast("logits");
  const bytes = encodeGraph(g, {
    name: "hnoseg",
    doc: `HNOSeg-XS-shaped: filters=${f} blocks=${spec.blocks.join("-")} modes=${spec.modes.join("-")}${
      spec.softmax ? " softmax" : " logits"
    } seed=${spec.seed}`,
    inputs: [{ name: "image", channels: spec.inChannels }],
    outputs: [{ name: "logits", channels: spec.outChannels }],
  });
  return { bytes, parameters: g.params };
}

/** A model of one Hartley layer (transform, `convs` shared channel mixes, inverse) and its mix weights [c·c each]. */
export function buildHartleyLayerModel(
  channels: number,
  convs: number,
  modes: [number, number, number],
  seed: number,
): { bytes: Uint8Array; mixes: Float32Array[] } {
  const g = new HNOBuilder(seed);
  g.hartleyLayer("x", g.spectral("x", modes), "layer", channels, convs);
  g.outputLast("y");
  const mixes = g.inits.filter((t) => t.name!.endsWith(".weight")).map((t) =>
    new Float32Array(t.raw_data!.slice().buffer)
  );
  const bytes = encodeGraph(g, {
    name: "hartley_layer",
    doc: `Hartley layer channels=${channels} convs=${convs} modes=${modes.join("-")}`,
    inputs: [{ name: "x", channels }],
    outputs: [{ name: "y", channels }],
  });
  return { bytes, mixes };
}
