/**
 * Tiny generated models for tests (written once per process into a temp
 * folder, removed when the process ends).
 *
 * @module
 */
import { join } from "../lib/core/_std.ts";
import { buildResEncUNet, PRESETS } from "../scripts/builders/model_builder.ts";
import { AttrType, DataType, encodeModel, type NodeProto } from "../lib/engine/onnx_proto.ts";

let dir: string | undefined;

/** Path of a tiny ResEnc-UNet (fp32 or fp16, given seed), generated on first use. */
export async function tinyModel(fp16 = false, seed = 7): Promise<string> {
  if (!dir) {
    const made = await Deno.makeTempDir({ prefix: "siamize-models-" });
    dir = made;
    // One folder per test process, removed when the process ends.
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(made, { recursive: true });
      } catch { /* gone */ }
    });
  }
  const path = join(dir, `tiny_${fp16 ? "fp16" : "fp32"}_${seed}.onnx`);
  try {
    await Deno.stat(path);
  } catch {
    await Deno.writeFile(path, buildResEncUNet({ ...PRESETS.tiny, fp16, seed }).bytes);
  }
  return path;
}

/** Options of {@linkcode instanceNormModel}. */
export interface InstanceNormModelOptions {
  /** Channels. @default 1 */
  channels?: number;
  /** Store scale and bias as float16 and normalise in float16 between two Casts. @default false */
  fp16?: boolean;
  /** Default-domain opset (18+ moves ReduceMean's axes to an input). @default 17 */
  opset?: number;
}

/** Per-channel scale and bias of {@linkcode instanceNormModel}. */
export function instanceNormParams(c: number): { scale: number; bias: number } {
  return { scale: 1 + 0.25 * c, bias: 0.1 * c - 0.05 };
}

/** ONNX bytes of one InstanceNormalization (epsilon 1e-5): input `x` [N, C, D, H, W] float32, output `y`. */
export function instanceNormModel(opts: InstanceNormModelOptions = {}): Uint8Array {
  const c = opts.channels ?? 1;
  const dt = opts.fp16 ? DataType.FLOAT16 : DataType.FLOAT;
  const values = (f: (i: number) => number) => {
    const a = opts.fp16 ? new Float16Array(c) : new Float32Array(c);
    for (let i = 0; i < c; i++) a[i] = f(i);
    return new Uint8Array(a.buffer);
  };
  const cast = (from: string, to: string, type: number): NodeProto => ({
    op_type: "Cast",
    input: [from],
    output: [to],
    attribute: [{ name: "to", type: AttrType.INT, i: type }],
  });
  const nodes: NodeProto[] = [
    {
      op_type: "InstanceNormalization",
      input: [opts.fp16 ? "x16" : "x", "scale", "bias"],
      output: [opts.fp16 ? "y16" : "y"],
      attribute: [{ name: "epsilon", type: AttrType.FLOAT, f: 1e-5 }],
    },
  ];
  if (opts.fp16) nodes.unshift(cast("x", "x16", DataType.FLOAT16)), nodes.push(cast("y16", "y", DataType.FLOAT));
  const io = (name: string) => ({
    name,
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: {
          dim: [{ dim_param: "N" }, { dim_value: c }, { dim_param: "D" }, { dim_param: "H" }, { dim_param: "W" }],
        },
      },
    },
  });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: "", version: opts.opset ?? 17 }],
    producer_name: "siamize tests",
    graph: {
      name: "instance_norm",
      node: nodes,
      initializer: [
        { name: "scale", dims: [c], data_type: dt, raw_data: values((i) => instanceNormParams(i).scale) },
        { name: "bias", dims: [c], data_type: dt, raw_data: values((i) => instanceNormParams(i).bias) },
      ],
      input: [io("x")],
      output: [io("y")],
    },
  });
}
