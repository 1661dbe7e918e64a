/**
 * SAM-shaped ONNX models with seeded weights, for `make-model --preset
 * sam-tiny|sam-vit-b`: the image encoder (`ImageEncoderViT`: 16x16 patch
 * embedding, transformer blocks with 14x14 windowed or global attention and
 * decomposed relative positions, the 256-channel neck) and the prompt
 * decoder with SAM's ONNX interface (`SamOnnxModel(return_single_mask=False)`:
 * random-Fourier point encoding with label embeddings, mask-input
 * downscaling, the two-way transformer, upscaling, hypernetwork MLPs, IoU
 * head, and the mask post-processing to the original size). Same graphs
 * and tensor shapes as SAM's export; the weights are random, so masks are
 * texture: for benchmarks and end-to-end tests, never for segmentation.
 *
 * @module
 */
import { DataType, encodeModel, type ValueInfoProto } from "../../lib/engine/onnx_proto.ts";
import { float, GraphBuilder, int, ints, str } from "./graph_builder.ts";
import type { BuiltModel } from "./network_presets.ts";

/** The image encoder's hyper-parameters. */
export interface SamEncoderSpec {
  /** Token width (768 for ViT-B). */
  embed: number;
  /** Transformer blocks. */
  depth: number;
  /** Attention heads. */
  heads: number;
  /** Window side of the windowed blocks. */
  window: number;
  /** Indices of the blocks with global attention. */
  global: number[];
  /**
   * Query token rows per chunk in the global blocks (as the export runs
   * them; see `vitAttention`). @default the whole grid (one piece)
   */
  globalChunkRows?: number;
}

/**
 * Query token rows per chunk in the global blocks of the presets, as
 * `scripts/export/export_samri.py --chunk-rows` exports them by default: 8 of
 * the 64 rows, so a block's score tensors hold 12 x 512 x 4096 floats (100 MB)
 * instead of 12 x 4096 x 4096 (805 MB). The values are those of one piece.
 */
export const GLOBAL_CHUNK_ROWS = 8;

/** SAM ViT-B (89.7M parameters in the encoder). */
export const SAM_VIT_B: SamEncoderSpec = {
  embed: 768,
  depth: 12,
  heads: 12,
  window: 14,
  global: [2, 5, 8, 11],
  globalChunkRows: GLOBAL_CHUNK_ROWS,
};
/** The tiny encoder of the golden vectors' shape (embed 64, depth 2, heads 2, window 14, global [1]). */
export const SAM_TINY: SamEncoderSpec = {
  embed: 64,
  depth: 2,
  heads: 2,
  window: 14,
  global: [1],
  globalChunkRows: GLOBAL_CHUNK_ROWS,
};

const IMG = 1024, GRID = 64, OUT = 256, PATCH = 16;

class Sam {
  g: GraphBuilder;
  constructor(seed: number) {
    this.g = new GraphBuilder(false, seed);
  }
  normal(prefix: string, dims: number[], std: number): string {
    return this.g.tensor(prefix, dims, () => this.g.normal() * std);
  }
  fill(prefix: string, dims: number[], v: number): string {
    return this.g.tensor(prefix, dims, () => v);
  }
  i64(v: number[], dims: number[] = [v.length]): string {
    return this.g.constant(v, dims, "int64");
  }
  f(v: number): string {
    return this.g.constant([v], []);
  }
  op(op: string, inputs: string[], attrs: Parameters<GraphBuilder["node"]>[2] = []): string {
    return this.g.node(op, inputs, attrs);
  }
  reshape(x: string, shape: number[]): string {
    return this.op("Reshape", [x, this.i64(shape)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.op("Transpose", [x], [ints("perm", perm)]);
  }
  linear(x: string, inF: number, outF: number, bias = true): string {
    const y = this.op("MatMul", [x, this.normal("w", [inF, outF], 1 / Math.sqrt(inF))]);
    return bias ? this.op("Add", [y, this.fill("b", [outF], 0)]) : y;
  }
  layerNorm(x: string, c: number, eps: number): string {
    return this.op("LayerNormalization", [x, this.fill("ln_w", [c], 1), this.fill("ln_b", [c], 0)], [
      int("axis", -1),
      float("epsilon", eps),
    ]);
  }
  /** LayerNorm2d on NCHW (over channels). */
  layerNorm2d(x: string, c: number): string {
    return this.transpose(this.layerNorm(this.transpose(x, [0, 2, 3, 1]), c, 1e-6), [0, 3, 1, 2]);
  }
  gelu(x: string): string {
    const e = this.op("Erf", [this.op("Mul", [x, this.f(Math.SQRT1_2)])]);
    return this.op("Mul", [this.op("Mul", [x, this.f(0.5)]), this.op("Add", [e, this.f(1)])]);
  }
  mlp(x: string, dims: number[], act: "relu" | "gelu"): string {
    let y = x;
    for (let k = 0; k + 1 < dims.length; k++) {
      y = this.linear(y, dims[k], dims[k + 1]);
      if (k + 2 < dims.length) y = act === "relu" ? this.op("Relu", [y]) : this.gelu(y);
    }
    return y;
  }
  conv(x: string, cin: number, cout: number, k: number, stride: number, pad: number, bias: boolean): string {
    const w = this.normal("conv_w", [cout, cin, k, k], 1 / Math.sqrt(cin * k * k));
    const inputs = bias ? [x, w, this.fill("conv_b", [cout], 0)] : [x, w];
    return this.op("Conv", inputs, [
      ints("kernel_shape", [k, k]),
      ints("strides", [stride, stride]),
      ints("pads", [pad, pad, pad, pad]),
    ]);
  }
  convT(x: string, cin: number, cout: number): string {
    const w = this.normal("convt_w", [cin, cout, 2, 2], 1 / Math.sqrt(cin));
    return this.op("ConvTranspose", [x, w, this.fill("convt_b", [cout], 0)], [
      ints("kernel_shape", [2, 2]),
      ints("strides", [2, 2]),
    ]);
  }
}

/** Relative-position index table `q - k + (n - 1)` for SAM's `get_rel_pos` (same sizes). */
function relIndex(n: number): number[] {
  const out: number[] = [];
  for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) out.push(q - k + n - 1);
  return out;
}

/**
 * Attention with decomposed relative positions over `b` windows of `h x w`
 * tokens (x: [b, h, w, E]). With `chunkRows` (the global blocks), the
 * queries go `chunkRows` token rows at a time, as `scripts/export/export_samri.py`
 * exports them: each chunk's scores, relative positions, softmax and product
 * with V, then the chunks concatenated. Every output value is computed as
 * in one piece (a softmax is over one query's keys); the score tensors live
 * a chunk at a time (12 x 512 x 4096 instead of 12 x 4096 x 4096 floats).
 */
function vitAttention(
  s: Sam,
  x: string,
  b: number,
  h: number,
  w: number,
  e: number,
  heads: number,
  chunkRows = h,
): string {
  const hd = e / heads, n = h * w;
  const qkv = s.transpose(s.reshape(s.linear(x, e, 3 * e), [b, n, 3, heads, hd]), [2, 0, 3, 1, 4]);
  const part = (i: number) => s.op("Gather", [qkv, s.i64([i], [])], [int("axis", 0)]);
  const q = part(0), k = part(1), v = part(2);
  const kT = s.transpose(k, [0, 1, 3, 2]);
  const posH = s.normal("rel_pos_h", [2 * h - 1, hd], 0.02);
  const posW = s.normal("rel_pos_w", [2 * w - 1, hd], 0.02);
  const table = relIndex(h);
  const rw = s.op("Gather", [posW, s.i64(relIndex(w), [w, w])], [int("axis", 0)]);
  const qRows = chunkRows < h ? s.reshape(q, [b, heads, h, w, hd]) : q;
  const chunk = (r0: number, rows: number): string => {
    const qc = rows === h
      ? q
      : s.reshape(s.op("Slice", [qRows, s.i64([r0]), s.i64([r0 + rows]), s.i64([2])]), [b, heads, rows * w, hd]);
    const scores = s.op("MatMul", [s.op("Mul", [qc, s.f(1 / Math.sqrt(hd))]), kT]);
    const rq = s.reshape(qc, [b * heads, rows, w, hd]);
    const rh = s.op("Gather", [posH, s.i64(table.slice(r0 * h, (r0 + rows) * h), [rows, h])], [int("axis", 0)]);
    const relH = s.reshape(s.op("Einsum", [rq, rh], [str("equation", "bhwc,hkc->bhwk")]), [b * heads, rows, w, h, 1]);
    const relW = s.reshape(s.op("Einsum", [rq, rw], [str("equation", "bhwc,wkc->bhwk")]), [b * heads, rows, w, 1, w]);
    const attn = s.reshape(
      s.op("Add", [s.op("Add", [s.reshape(scores, [b * heads, rows, w, h, w]), relH]), relW]),
      [b, heads, rows * w, n],
    );
    return s.op("MatMul", [s.op("Softmax", [attn], [int("axis", -1)]), v]);
  };
  const parts: string[] = [];
  for (let r0 = 0; r0 < h; r0 += chunkRows) parts.push(chunk(r0, Math.min(chunkRows, h - r0)));
  const out = parts.length === 1 ? parts[0] : s.op("Concat", parts, [int("axis", 2)]);
  return s.linear(s.reshape(s.transpose(out, [0, 2, 1, 3]), [b, h, w, e]), e, e);
}

/** Builds the image encoder: `input_image` 1x3x1024x1024 → `image_embeddings` 1x256x64x64. */
export function buildSamEncoder(spec: SamEncoderSpec, seed = 1): BuiltModel {
  const s = new Sam(seed);
  const e = spec.embed, win = spec.window;
  let x = s.conv("input_image", 3, e, PATCH, PATCH, 0, true);
  x = s.op("Add", [s.transpose(x, [0, 2, 3, 1]), s.normal("pos_embed", [1, GRID, GRID, e], 0.02)]);
  const padded = Math.ceil(GRID / win) * win, nw = padded / win;
  for (let i = 0; i < spec.depth; i++) {
    const shortcut = x;
    let y = s.layerNorm(x, e, 1e-6);
    if (spec.global.includes(i)) y = vitAttention(s, y, 1, GRID, GRID, e, spec.heads, spec.globalChunkRows);
    else {
      const p = GRID - padded;
      y = s.op("Pad", [y, s.i64([0, 0, 0, 0, 0, -p, -p, 0])], [str("mode", "constant")]);
      y = s.reshape(s.transpose(s.reshape(y, [1, nw, win, nw, win, e]), [0, 1, 3, 2, 4, 5]), [nw * nw, win, win, e]);
      y = vitAttention(s, y, nw * nw, win, win, e, spec.heads);
      y = s.reshape(s.transpose(s.reshape(y, [1, nw, nw, win, win, e]), [0, 1, 3, 2, 4, 5]), [1, padded, padded, e]);
      y = s.op("Slice", [y, s.i64([0, 0]), s.i64([GRID, GRID]), s.i64([1, 2])]);
    }
    x = s.op("Add", [shortcut, y]);
    x = s.op("Add", [x, s.mlp(s.layerNorm(x, e, 1e-6), [e, 4 * e, e], "gelu")]);
  }
  let n = s.transpose(x, [0, 3, 1, 2]);
  n = s.layerNorm2d(s.conv(n, e, OUT, 1, 1, 0, false), OUT);
  n = s.layerNorm2d(s.conv(n, OUT, OUT, 3, 1, 1, false), OUT);
  s.g.outputLast("image_embeddings");
  void n;
  const bytes = encode(s, "sam_image_encoder", [io("input_image", [1, 3, IMG, IMG])], [
    io("image_embeddings", [1, OUT, GRID, GRID]),
  ]);
  return { bytes, parameters: s.g.params };
}

/** SAM's decoder attention (`downsample` shrinks the internal width). q, k, v: [1, n, 256]. */
function attention(s: Sam, q: string, k: string, v: string, downsample: number): string {
  const inner = OUT / downsample, heads = 8, hd = inner / heads;
  const split = (x: string) => s.transpose(s.reshape(s.linear(x, OUT, inner), [1, -1, heads, hd]), [0, 2, 1, 3]);
  const a = s.op("MatMul", [split(q), s.transpose(split(k), [0, 1, 3, 2])]);
  const p = s.op("Softmax", [s.op("Mul", [a, s.f(1 / Math.sqrt(hd))])], [int("axis", -1)]);
  const o = s.reshape(s.transpose(s.op("MatMul", [p, split(v)]), [0, 2, 1, 3]), [1, -1, inner]);
  return s.linear(o, inner, OUT);
}

/** The dense positional encoding of the 64x64 grid (SAM's `get_dense_pe`), [1, 4096, 256] row-major. */
function densePe(gauss: Float32Array): number[] {
  const out: number[] = [];
  for (let y = 0; y < GRID; y++) {
    for (let x = 0; x < GRID; x++) {
      const cx = 2 * ((x + 0.5) / GRID) - 1, cy = 2 * ((y + 0.5) / GRID) - 1;
      const sin: number[] = [], cos: number[] = [];
      for (let j = 0; j < 128; j++) {
        const t = 2 * Math.PI * (cx * gauss[j] + cy * gauss[128 + j]);
        sin.push(Math.sin(t));
        cos.push(Math.cos(t));
      }
      out.push(...sin, ...cos);
    }
  }
  return out;
}

/**
 * Builds the prompt decoder with SAM's ONNX interface (inputs
 * `image_embeddings, point_coords, point_labels, mask_input, has_mask_input,
 * orig_im_size`; outputs `masks [1,4,H,W], iou_predictions [1,4],
 * low_res_masks [1,4,256,256]`).
 */
export function buildSamDecoder(seed = 2): BuiltModel {
  const s = new Sam(seed);
  // prompt encoder: random Fourier features of the points, label embeddings
  const gauss = Float32Array.from({ length: 256 }, () => s.g.normal());
  const G = s.g.param("pe_gaussian_matrix", [2, 128], (i) => gauss[i]);
  let c = s.op("Div", [s.op("Add", ["point_coords", s.f(0.5)]), s.f(IMG)]);
  c = s.op("Mul", [s.op("MatMul", [s.op("Sub", [s.op("Mul", [c, s.f(2)]), s.f(1)]), G]), s.f(2 * Math.PI)]);
  let sparse = s.op("Concat", [s.op("Sin", [c]), s.op("Cos", [c])], [int("axis", -1)]);
  const labels = s.reshape("point_labels", [1, -1, 1]);
  const is = (v: number) => s.op("Cast", [s.op("Equal", [labels, s.f(v)])], [int("to", DataType.FLOAT)]);
  const pad = is(-1);
  sparse = s.op("Mul", [sparse, s.op("Sub", [s.f(1), pad])]);
  sparse = s.op("Add", [sparse, s.op("Mul", [pad, s.normal("not_a_point_embed", [OUT], 1)])]);
  for (let i = 0; i < 4; i++) sparse = s.op("Add", [sparse, s.op("Mul", [is(i), s.normal("point_embed", [OUT], 1)])]);
  // dense prompt: the mask input, downscaled, or the no-mask embedding
  let m = s.gelu(s.layerNorm2d(s.conv("mask_input", 1, 4, 2, 2, 0, true), 4));
  m = s.gelu(s.layerNorm2d(s.conv(m, 4, 16, 2, 2, 0, true), 16));
  m = s.conv(m, 16, OUT, 1, 1, 0, true);
  const has = "has_mask_input";
  const noMask = s.reshape(s.normal("no_mask_embed", [OUT], 1), [1, OUT, 1, 1]);
  const dense = s.op("Add", [s.op("Mul", [m, has]), s.op("Mul", [noMask, s.op("Sub", [s.f(1), has])])]);
  // mask decoder: tokens, two-way transformer
  const tokens0 = s.reshape(s.normal("output_tokens", [5, OUT], 1), [1, 5, OUT]);
  const queryPe = s.op("Concat", [tokens0, sparse], [int("axis", 1)]);
  let queries = queryPe;
  const src = s.op("Add", ["image_embeddings", dense]);
  let keys = s.transpose(s.reshape(src, [1, OUT, GRID * GRID]), [0, 2, 1]);
  const keyPe = s.g.constant(densePe(gauss), [1, GRID * GRID, OUT]);
  for (let l = 0; l < 2; l++) {
    if (l === 0) queries = attention(s, queries, queries, queries, 1);
    else {
      const q = s.op("Add", [queries, queryPe]);
      queries = s.op("Add", [queries, attention(s, q, q, queries, 1)]);
    }
    queries = s.layerNorm(queries, OUT, 1e-5);
    let q = s.op("Add", [queries, queryPe]), k = s.op("Add", [keys, keyPe]);
    queries = s.layerNorm(s.op("Add", [queries, attention(s, q, k, keys, 2)]), OUT, 1e-5);
    queries = s.layerNorm(s.op("Add", [queries, s.mlp(queries, [OUT, 2048, OUT], "relu")]), OUT, 1e-5);
    q = s.op("Add", [queries, queryPe]);
    k = s.op("Add", [keys, keyPe]);
    keys = s.layerNorm(s.op("Add", [keys, attention(s, k, q, queries, 2)]), OUT, 1e-5);
  }
  const qf = s.op("Add", [queries, queryPe]), kf = s.op("Add", [keys, keyPe]);
  queries = s.layerNorm(s.op("Add", [queries, attention(s, qf, kf, keys, 2)]), OUT, 1e-5);
  // upscaling, hypernetworks, IoU head
  let up = s.reshape(s.transpose(keys, [0, 2, 1]), [1, OUT, GRID, GRID]);
  up = s.gelu(s.layerNorm2d(s.convT(up, OUT, 64), 64));
  up = s.gelu(s.convT(up, 64, 32));
  const token = (i: number) => s.op("Gather", [queries, s.i64([i], [])], [int("axis", 1)]);
  const hyper = [1, 2, 3, 4].map((i) => s.reshape(s.mlp(token(i), [OUT, OUT, OUT, 32], "relu"), [1, 1, 32]));
  const hyperIn = s.op("Concat", hyper, [int("axis", 1)]);
  const low = s.reshape(s.op("MatMul", [hyperIn, s.reshape(up, [1, 32, 256 * 256])]), [1, 4, 256, 256]);
  s.g.outputLast("low_res_masks");
  s.mlp(token(0), [OUT, OUT, OUT, 4], "relu");
  s.g.outputLast("iou_predictions");
  // post-processing: to 1024², crop the resized image's part, to the original size
  const resize = (x: string, sizes: string) =>
    s.op("Resize", [x, "", "", sizes], [
      str("mode", "linear"),
      str("coordinate_transformation_mode", "half_pixel"),
    ]);
  const big = resize("low_res_masks", s.i64([1, 4, IMG, IMG]));
  const scale = s.op("Div", [s.f(IMG), s.op("ReduceMax", ["orig_im_size"], [int("keepdims", 0)])]);
  const pre = s.op("Cast", [s.op("Floor", [s.op("Add", [s.op("Mul", ["orig_im_size", scale]), s.f(0.5)])])], [
    int("to", DataType.INT64),
  ]);
  const crop = s.op("Slice", [big, s.i64([0, 0]), pre, s.i64([2, 3])]);
  const orig = s.op("Cast", ["orig_im_size"], [int("to", DataType.INT64)]);
  resize(crop, s.op("Concat", [s.i64([1, 4]), orig], [int("axis", 0)]));
  s.g.outputLast("masks");
  void low;
  const bytes = encode(s, "sam_prompt_decoder", [
    io("image_embeddings", [1, OUT, GRID, GRID]),
    io("point_coords", [1, "num_points", 2]),
    io("point_labels", [1, "num_points"]),
    io("mask_input", [1, 1, 256, 256]),
    io("has_mask_input", [1]),
    io("orig_im_size", [2]),
  ], [io("masks", [1, 4, "H", "W"]), io("iou_predictions", [1, 4]), io("low_res_masks", [1, 4, 256, 256])]);
  return { bytes, parameters: s.g.params };
}

function io(name: string, shape: (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

function encode(s: Sam, name: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[]): Uint8Array {
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "siamize make_model",
    producer_version: "1",
    doc_string: `${name} with seeded weights (SAM's shapes; not a trained model)`,
    graph: { name, node: s.g.nodes, initializer: s.g.inits, input: inputs, output: outputs },
  });
}
