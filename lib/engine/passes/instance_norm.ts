/**
 * Replaces every `InstanceNormalization` node by a decomposition whose
 * statistics are accurate to float rounding. ONNX Runtime's CPU kernel
 * accumulates the variance of a whole channel in float: on one 256x256x192
 * channel (12.6 M voxels) its output is off a float64 computation by up to
 * ~6e-3, a uniform shift/scale of the normalised signal that flips labels
 * near class boundaries on real-size tiles. Subtracting an exact mean first
 * does not fix it (the scale stays wrong), so the whole normalisation is
 * written as a graph:
 *
 * ```
 * x3  = Reshape(x, [0, 0, -1])                                  [N, C, L]
 * mu  = ReduceMean(Reshape(ReduceMean(x, axes=-1), [0, 0, -1]), axes=2)
 * var = ReduceMean(Reshape(ReduceSumSquare(x - mu, axes=-1), [0, 0, -1]), axes=2)
 *       / (last axis length)
 * y   = Reshape(BatchNormalization(Reshape(x3, [1, N·C, L]),
 *               scale, bias (expanded to N·C), mu, var, eps), Shape(x))
 * ```
 *
 * The two-level mean (first along the last axis, then over the row means)
 * keeps every float sum short; it needs no knowledge of the input's rank.
 * The squares are summed without being written out (ReduceSumSquare).
 * BatchNormalization with per-(n, c) statistics given as inputs applies
 * the result in one pass over the data. On float16 graphs the statistics
 * and the normalisation are computed in float32 between two Casts, so the
 * result is the float16 rounding of an accurate value on every provider.
 *
 * @module
 */
import type { GraphPass } from "./graph_pass.ts";
import {
  AttrType,
  DataType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  num,
  someGraphEntry,
  type TensorProto,
} from "../onnx_proto.ts";

const OP = "InstanceNormalization";
const OP_BYTES = new TextEncoder().encode(OP);

/**
 * Whether any node of the model's main graph is an InstanceNormalization,
 * from the wire format (no decode).
 */
export function hasInstanceNorm(bytes: Uint8Array): boolean {
  // GraphProto.node = 1; NodeProto.op_type = 4.
  return someGraphEntry(bytes, 1, (w) => {
    const op = w.bytesField(4);
    return op !== undefined && op.length === OP_BYTES.length && op.every((b, i) => b === OP_BYTES[i]);
  });
}

/** What {@linkcode decomposeInstanceNorms} did. */
export interface InstanceNormRewrite {
  /** Nodes replaced. */
  replaced: number;
  /** Nodes left as they are (element type not known from the graph). */
  kept: number;
}

function i64(name: string, v: number[]): TensorProto {
  return {
    name,
    dims: [v.length],
    data_type: DataType.INT64,
    raw_data: new Uint8Array(new BigInt64Array(v.map(BigInt)).buffer),
  };
}

/** Element type of a tensor name, from initialisers, Constant nodes and value infos; undefined when unknown. */
function elemTypes(g: GraphProto): (name: string) => number | undefined {
  const types = new Map<string, number>();
  for (const t of g.initializer ?? []) if (t.name && t.data_type) types.set(t.name, t.data_type);
  for (const v of [...(g.input ?? []), ...(g.value_info ?? [])]) {
    const e = v.type?.tensor_type?.elem_type;
    if (v.name && e) types.set(v.name, e);
  }
  for (const n of g.node ?? []) {
    if (n.op_type !== "Constant" || (n.domain ?? "") !== "") continue;
    const t = n.attribute?.find((a) => a.name === "value")?.t;
    if (t?.data_type && n.output?.[0]) types.set(n.output[0], t.data_type);
  }
  return (name) => types.get(name);
}

/** Rewrites the graph in place (see the module doc). */
export function decomposeInstanceNorms(model: ModelProto): InstanceNormRewrite {
  const g = model.graph!;
  const opset = num(model.opset_import?.find((o) => (o.domain ?? "") === "")?.version) || 1;
  const typeOf = elemTypes(g);
  const used = new Set<string>();
  for (const n of g.node ?? []) for (const s of [...(n.input ?? []), ...(n.output ?? [])]) used.add(s);
  for (const t of g.initializer ?? []) if (t.name) used.add(t.name);
  let uid = 0;
  const fresh = (p: string) => {
    let s: string;
    do s = `siamize_in/${p}_${uid++}`; while (used.has(s));
    used.add(s);
    return s;
  };
  const inits: TensorProto[] = [];
  const shared = new Map<string, string>();
  const constant = (key: string, make: (name: string) => TensorProto) => {
    let name = shared.get(key);
    if (!name) {
      name = fresh(key);
      shared.set(key, name);
      inits.push(make(name));
    }
    return name;
  };
  let replaced = 0, kept = 0;
  const out: NodeProto[] = [];
  for (const n of g.node ?? []) {
    if (n.op_type !== OP || (n.domain ?? "") !== "") {
      out.push(n);
      continue;
    }
    const [x, scale, bias] = n.input ?? [];
    const y = n.output![0];
    const type = typeOf(scale) ?? typeOf(bias) ?? typeOf(x);
    if (type !== DataType.FLOAT && type !== DataType.FLOAT16) {
      kept++;
      out.push(n);
      continue;
    }
    const eps = n.attribute?.find((a) => a.name === "epsilon")?.f ?? 1e-5;
    const node = (op: string, inputs: string[], attribute: NodeProto["attribute"] = [], output = fresh(op)) => {
      out.push({ op_type: op, input: inputs, output: [output], name: fresh(`${op}_node`), attribute });
      return output;
    };
    const cast = (s: string, to: number) => node("Cast", [s], [{ name: "to", type: AttrType.INT, i: to }]);
    const flat = constant("shape_nc_1", (name) => i64(name, [0, 0, -1]));
    const col = constant("shape_c_1", (name) => i64(name, [-1, 1]));
    const rows = constant("shape_1_nc_l", (name) => i64(name, [1, -1, 0]));
    const vec = constant("shape_flat", (name) => i64(name, [-1]));
    const lastIndex = constant("index_last", (name) => i64(name, [-1]));
    const reduce = (op: string, s: string, axis: number) =>
      opset >= 18
        ? node(op, [s, constant(`axes_${axis}`, (name) => i64(name, [axis]))])
        : node(op, [s], [{ name: "axes", type: AttrType.INTS, ints: [axis] }]);
    const reduceMean = (s: string, axis: number) => reduce("ReduceMean", s, axis);
    /** Mean over everything but N and C of an [N, C, ...] tensor, as [N, C, 1]: row means, then their mean. */
    const mean = (s: string) => reduceMean(node("Reshape", [reduceMean(s, -1), flat]), 2);
    const half = type === DataType.FLOAT16;
    const xf = half ? cast(x, DataType.FLOAT) : x;
    const shape = node("Shape", [x]);
    const xr = node("Reshape", [xf, flat]);
    const mu = mean(xf);
    const xc = node("Sub", [xr, mu]);
    // Mean of squares without writing them: sums of squares along the last axis, their mean, / its length.
    const rowSums = node("Reshape", [reduce("ReduceSumSquare", node("Reshape", [xc, shape]), -1), flat]);
    const last = node("Cast", [node("Gather", [shape, lastIndex])], [{
      name: "to",
      type: AttrType.INT,
      i: DataType.FLOAT,
    }]);
    const variance = node("Div", [reduce("ReduceMean", rowSums, 2), last]);
    // One pass for the output: BatchNormalization over [1, N·C, L] with the
    // per-(n, c) statistics and the per-c scale and bias expanded to N·C.
    const stats = node("Shape", [mu]);
    const perInstance = (v: string) =>
      node("Reshape", [node("Expand", [node("Reshape", [half ? cast(v, DataType.FLOAT) : v, col]), stats]), vec]);
    const y3 = node("BatchNormalization", [
      node("Reshape", [xr, rows]),
      perInstance(scale),
      perInstance(bias),
      node("Reshape", [mu, vec]),
      node("Reshape", [variance, vec]),
    ], [{ name: "epsilon", type: AttrType.FLOAT, f: eps }]);
    if (half) cast(node("Reshape", [y3, shape]), DataType.FLOAT16);
    else node("Reshape", [y3, shape]);
    out[out.length - 1].output = [y];
    replaced++;
  }
  if (replaced) {
    g.node = out;
    g.initializer = [...(g.initializer ?? []), ...inits];
  }
  return { replaced, kept };
}

/**
 * The pass: every provider, every model with an InstanceNormalization
 * (run after the CPU's fp16->fp32 pass, so on the CPU it sees float32).
 */
export const INSTANCE_NORM: GraphPass = {
  name: "instance-norm",
  wanted: (bytes) => hasInstanceNorm(bytes),
  run(model) {
    const { replaced, kept } = decomposeInstanceNorms(model);
    if (!replaced && !kept) return undefined;
    if (!replaced) return `${kept} InstanceNormalization left (element type unknown)`;
    return `${replaced} InstanceNormalization decomposed${kept ? `, ${kept} left (element type unknown)` : ""}`;
  },
};
