/**
 * A load-time graph pass for the WebGPU provider: ONNX Runtime's WebGPU
 * ConvTranspose accepts 3-D nodes at session creation, then fails at run
 * time ("Only Conv2d or Conv1d are supported"). A ConvTranspose whose kernel
 * equals its stride (nnU-Net's upsampling) has no overlap between output
 * blocks, so it is exactly a 1x1x1 Conv to `Cout·kz·ky·kx` channels (bias
 * repeated per kernel position) followed by a 3-D depth-to-space:
 * Reshape to (N, Cout, kz, ky, kx, D, H, W) → Transpose to
 * (N, Cout, D, kz, H, ky, W, kx) → Reshape to (N, Cout, D·kz, H·ky, W·kx).
 * The whole graph then runs on the GPU. Other ConvTranspose shapes are left
 * as they are (and named by the placement check).
 *
 * @module
 */
import type { GraphPass } from "./graph_pass.ts";
import { AttrType, DataType, type GraphProto, type NodeProto, num, type TensorProto } from "../onnx_proto.ts";

const SIZES: Record<number, number> = { [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.DOUBLE]: 8 };

/** The raw little-endian element bytes of an initialiser (raw_data, float_data or fp16 int32_data). */
function elementBytes(t: TensorProto): Uint8Array {
  if (t.raw_data && t.raw_data.length) return new Uint8Array(t.raw_data);
  if (t.external_data?.length) throw new Error(`tensor ${t.name}: external data is not supported`);
  if (t.data_type === DataType.FLOAT) return new Uint8Array(Float32Array.from(t.float_data ?? []).buffer);
  if (t.data_type === DataType.FLOAT16) {
    return new Uint8Array(Uint16Array.from((t.int32_data ?? []).map((v) => v & 0xffff)).buffer);
  }
  if (t.data_type === DataType.DOUBLE) return new Uint8Array(Float64Array.from(t.double_data ?? []).buffer);
  throw new Error(`tensor ${t.name}: unsupported data type ${t.data_type}`);
}

function ints(name: string, v: number[]) {
  return { name, type: AttrType.INTS, ints: v };
}

function int64Tensor(name: string, v: number[]): TensorProto {
  const a = BigInt64Array.from(v.map(BigInt));
  return { name, dims: [v.length], data_type: DataType.INT64, raw_data: new Uint8Array(a.buffer) };
}

/** Why a ConvTranspose node cannot be rewritten, or its kernel when it can. */
function convertible(n: NodeProto, inits: Map<string, TensorProto>): [number, number, number] | string {
  const w = inits.get(n.input?.[1] ?? "");
  if (!w) return "weight is not an initialiser";
  if ((w.dims ?? []).length !== 5) return "not 3-D";
  if (!(w.data_type! in SIZES)) return `weight type ${w.data_type}`;
  if (n.input!.length > 2 && n.input![2] && !inits.get(n.input![2])) return "bias is not an initialiser";
  const k = (w.dims ?? []).slice(2).map(num);
  const attr = (name: string) => n.attribute?.find((a) => a.name === name);
  const list = (name: string) => (attr(name)?.ints ?? []).map(num);
  const strides = list("strides");
  const kernel = list("kernel_shape");
  if (kernel.length && kernel.join() !== k.join()) return "kernel_shape disagrees with the weight";
  if (strides.join() !== k.join()) return `stride ${strides.join("x") || "1"} is not the kernel ${k.join("x")}`;
  if (num(attr("group")?.i ?? 1) !== 1) return "grouped";
  if (list("pads").some((p) => p !== 0)) return "padded";
  if (list("output_padding").some((p) => p !== 0)) return "output padding";
  if (list("dilations").some((d) => d !== 1)) return "dilated";
  if (attr("output_shape")) return "explicit output shape";
  const pad = attr("auto_pad")?.s;
  if (pad && new TextDecoder().decode(pad) !== "NOTSET") return "auto_pad";
  return k as [number, number, number];
}

/**
 * Rewrites every kernel-equals-stride 3-D ConvTranspose of the graph in
 * place as Conv + depth-to-space; returns how many were rewritten and the
 * names of those left alone (with why).
 */
export function rewriteConvTranspose3d(g: GraphProto): { rewritten: number; skipped: string[] } {
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? "", t]));
  const nodes: NodeProto[] = [];
  const skipped: string[] = [];
  let rewritten = 0;
  let uid = 0;
  const taken = new Set<string>([
    ...inits.keys(),
    ...(g.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? []), n.name ?? ""]),
  ]);
  const fresh = (base: string) => {
    let s = `${base}__d2s${uid++}`;
    while (taken.has(s)) s = `${base}__d2s${uid++}`;
    taken.add(s);
    return s;
  };
  for (const n of g.node ?? []) {
    if (n.op_type !== "ConvTranspose" || (n.domain ?? "") !== "") {
      nodes.push(n);
      continue;
    }
    const k = convertible(n, inits);
    if (typeof k === "string") {
      skipped.push(`${n.name || n.output?.[0]} (${k})`);
      nodes.push(n);
      continue;
    }
    const w = inits.get(n.input![1])!;
    const [cin, cout] = (w.dims ?? []).slice(0, 2).map(num);
    const kk = k[0] * k[1] * k[2];
    const es = SIZES[w.data_type!];
    // W[i, o, kpos] → W'[o·K + kpos, i, 1, 1, 1].
    const src = elementBytes(w);
    const dst = new Uint8Array(src.length);
    for (let i = 0; i < cin; i++) {
      for (let o = 0; o < cout; o++) {
        for (let p = 0; p < kk; p++) {
          const from = ((i * cout + o) * kk + p) * es;
          const to = ((o * kk + p) * cin + i) * es;
          dst.set(src.subarray(from, from + es), to);
        }
      }
    }
    const base = n.name || n.output![0];
    const wName = fresh(`${base}_w`);
    g.initializer!.push({ name: wName, dims: [cout * kk, cin, 1, 1, 1], data_type: w.data_type, raw_data: dst });
    const convInputs = [n.input![0], wName];
    const biasName = n.input!.length > 2 ? n.input![2] : "";
    if (biasName) {
      const b = inits.get(biasName)!;
      const bs = elementBytes(b);
      const be = SIZES[b.data_type!];
      const rep = new Uint8Array(bs.length * kk);
      for (let o = 0; o < cout; o++) {
        for (let p = 0; p < kk; p++) rep.set(bs.subarray(o * be, (o + 1) * be), (o * kk + p) * be);
      }
      const bName = fresh(`${base}_b`);
      g.initializer!.push({ name: bName, dims: [cout * kk], data_type: b.data_type, raw_data: rep });
      convInputs.push(bName);
    }
    // Shapes from the ConvTranspose input x = (N, Cin, D, H, W).
    const c = (name: string, v: number[]) => {
      const s = fresh(`${base}_${name}`);
      g.initializer!.push(int64Tensor(s, v));
      return s;
    };
    const shape = fresh(`${base}_shape`), n0 = fresh(`${base}_n`), dhw = fresh(`${base}_dhw`);
    const shape8 = fresh(`${base}_shape8`), scaled = fresh(`${base}_scaled`), shape5 = fresh(`${base}_shape5`);
    const conv = fresh(`${base}_conv`), r8 = fresh(`${base}_r8`), t8 = fresh(`${base}_t8`);
    const node = (op: string, input: string[], output: string[], attribute: NodeProto["attribute"] = []) =>
      nodes.push({ op_type: op, domain: "", name: fresh(`${base}_${op}`), input, output, attribute });
    node("Shape", [n.input![0]], [shape]);
    node("Slice", [shape, c("s0", [0]), c("e1", [1])], [n0]);
    node("Slice", [shape, c("s2", [2]), c("e5", [5])], [dhw]);
    node("Concat", [n0, c("ck", [cout, ...k]), dhw], [shape8], [{ name: "axis", type: AttrType.INT, i: 0 }]);
    node("Mul", [shape, c("mul", [1, 0, ...k])], [scaled]);
    node("Add", [scaled, c("add", [0, cout, 0, 0, 0])], [shape5]);
    node("Conv", convInputs, [conv], [ints("kernel_shape", [1, 1, 1]), ints("strides", [1, 1, 1])]);
    node("Reshape", [conv, shape8], [r8]);
    node("Transpose", [r8], [t8], [ints("perm", [0, 1, 5, 2, 6, 3, 7, 4])]);
    node("Reshape", [t8, shape5], [n.output![0]]);
    rewritten++;
  }
  g.node = nodes;
  // Drop the original weights and biases nothing uses any more.
  const used = new Set(nodes.flatMap((n) => n.input ?? []));
  g.initializer = (g.initializer ?? []).filter((t) => used.has(t.name ?? ""));
  return { rewritten, skipped };
}

/** Whether the model bytes may hold a ConvTranspose node (a cheap byte search, no decode). */
function mentionsConvTranspose(bytes: Uint8Array): boolean {
  const needle = new TextEncoder().encode("ConvTranspose");
  outer: for (let i = bytes.indexOf(needle[0]); i >= 0 && i <= bytes.length - needle.length;) {
    for (let j = 1; j < needle.length; j++) {
      if (bytes[i + j] !== needle[j]) {
        i = bytes.indexOf(needle[0], i + 1);
        continue outer;
      }
    }
    return true;
  }
  return false;
}

/** 3-D ConvTranspose (kernel = stride) as Conv + depth-to-space, for the WebGPU provider only. */
export const CONV_TRANSPOSE_3D: GraphPass = {
  name: "convtranspose3d->conv+d2s",
  wanted: (bytes, provider) => provider === "webgpu" && mentionsConvTranspose(bytes),
  run(model) {
    const { rewritten, skipped } = rewriteConvTranspose3d(model.graph!);
    if (!rewritten) return undefined;
    return `${rewritten} rewritten` + (skipped.length ? `, left: ${skipped.join(", ")}` : "");
  },
};
