/**
 * Small shared helpers for the scripts that write ONNX graphs by hand
 * (`model_builder.ts`, `segresnet_builder.ts`, `hnoseg_builder.ts`): a
 * seeded PRNG, a {@linkcode GraphBuilder} that names nodes and collects
 * weights (counted as parameters) apart from constants (not counted), and
 * {@linkcode encodeGraph} for a model with 5-D float inputs and outputs.
 *
 * @module
 */
import {
  type AttributeProto,
  AttrType,
  DataType,
  encodeModel,
  type NodeProto,
  type TensorProto,
} from "../../lib/engine/onnx_proto.ts";

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An INTS attribute. */
export function ints(name: string, v: number[]): AttributeProto {
  return { name, type: AttrType.INTS, ints: v };
}

/** An INT attribute. */
export function int(name: string, v: number): AttributeProto {
  return { name, type: AttrType.INT, i: v };
}

/** A FLOAT attribute. */
export function float(name: string, v: number): AttributeProto {
  return { name, type: AttrType.FLOAT, f: v };
}

/** A STRING attribute. */
export function str(name: string, v: string): AttributeProto {
  return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
}

/** Collects the nodes and initialisers of one graph. */
export class GraphBuilder {
  /** Nodes in topological order. */
  nodes: NodeProto[] = [];
  /** Initialisers: weights and constants. */
  inits: TensorProto[] = [];
  /** Number of weight values (constants excluded). */
  params = 0;
  #n = 0;
  #rand: () => number;
  #spare: number | undefined;
  #consts = new Map<string, string>();
  constructor(readonly fp16: boolean, seed: number) {
    this.#rand = prng(seed);
  }
  /** A fresh name with this prefix. */
  name(p: string): string {
    return `${p}_${this.#n++}`;
  }
  /** A uniform sample in [0, 1). */
  uniform(): number {
    return this.#rand();
  }
  /** A standard normal sample (Box-Muller on the seeded PRNG). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    const u = 1 - this.#rand(), v = this.#rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** A weight tensor named exactly `name` (float16 when `fp16`), counted as parameters. */
  param(name: string, dims: number[], fill: (i: number) => number): string {
    const n = dims.reduce((a, c) => a * c, 1);
    let raw: Uint8Array;
    if (this.fp16) {
      const a = new Float16Array(n);
      for (let i = 0; i < n; i++) a[i] = fill(i);
      raw = new Uint8Array(a.buffer);
    } else {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = fill(i);
      raw = new Uint8Array(a.buffer);
    }
    this.inits.push({ name, dims, data_type: this.fp16 ? DataType.FLOAT16 : DataType.FLOAT, raw_data: raw });
    this.params += n;
    return name;
  }
  /** A weight tensor with a fresh name from `prefix`. */
  tensor(prefix: string, dims: number[], fill: (i: number) => number): string {
    return this.param(this.name(prefix), dims, fill);
  }
  /** A float32 (default) or int64 constant, not counted as a parameter; equal constants are shared. */
  constant(values: number[], dims: number[] = [values.length], type: "float" | "int64" = "float"): string {
    const key = `${type}:${dims.join("x")}:${values.join(",")}`;
    const known = this.#consts.get(key);
    if (known) return known;
    const name = this.name(type === "float" ? "const_f" : "const_i");
    const raw = type === "float"
      ? new Uint8Array(Float32Array.from(values).buffer)
      : new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
    this.inits.push({ name, dims, data_type: type === "float" ? DataType.FLOAT : DataType.INT64, raw_data: raw });
    this.#consts.set(key, name);
    return name;
  }
  /** Appends a node with one output; returns the output's name. */
  node(op: string, inputs: string[], attrs: AttributeProto[] = [], prefix = op.toLowerCase()): string {
    const out = this.name(prefix);
    this.nodes.push({ op_type: op, input: inputs, output: [out], name: this.name(`${op}_node`), attribute: attrs });
    return out;
  }
  /** Renames the last node's output (to make it the graph output). */
  outputLast(name: string): void {
    this.nodes[this.nodes.length - 1].output = [name];
  }
}

/** One graph input or output: a float32 tensor [batch, channels, D, H, W]. */
export interface Io5 {
  /** Tensor name. */
  name: string;
  /** Channels (static). */
  channels: number;
}

/** What {@linkcode encodeGraph} writes besides the graph. */
export interface EncodeGraphOptions {
  /** Graph name. */
  name: string;
  /** Model doc string. */
  doc: string;
  /** Inputs, [batch, C, D, H, W] float32 with dynamic batch and spatial axes. */
  inputs: Io5[];
  /** Outputs, same layout. */
  outputs: Io5[];
  /** Default opset version. @default 17 */
  opset?: number;
}

/** Encodes the builder's graph as an ONNX model with dynamic batch and spatial axes. */
export function encodeGraph(g: GraphBuilder, o: EncodeGraphOptions): Uint8Array {
  const dim = (p: string | number) => (typeof p === "number" ? { dim_value: p } : { dim_param: p });
  const io = (v: Io5) => ({
    name: v.name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: { dim: [dim("batch"), dim(v.channels), dim("D"), dim("H"), dim("W")] },
      },
    },
  });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: "", version: o.opset ?? 17 }],
    producer_name: "siamize make_model",
    producer_version: "1",
    doc_string: o.doc,
    graph: { name: o.name, node: g.nodes, initializer: g.inits, input: o.inputs.map(io), output: o.outputs.map(io) },
  });
}
