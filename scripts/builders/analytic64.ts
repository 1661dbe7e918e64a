/**
 * A float64 TypeScript evaluation of the golden stand-in network
 * (`tests/golden/analytic.onnx`), as a {@linkcode Backend}: the honest
 * reference for `deno task regress --float64` on real-size tiles, where no
 * Python reference labels exist. The weights are read from the model file;
 * its graph must be exactly the stand-in's: 3x3x3 Conv (zero padding, no
 * bias) → InstanceNormalization → [z, z²] → 1x1x1 Conv head.
 *
 * @module
 */
import { decodeModel, num, type TensorProto } from "../../lib/engine/onnx_proto.ts";
import type { Backend, NetworkSession } from "../../lib/engine/ort.ts";
import type { Shape3 } from "../../lib/core/types.ts";

function floats(t: TensorProto | undefined): Float32Array {
  if (!t) throw new Error("missing tensor");
  if (t.raw_data?.length) return new Float32Array(new Uint8Array(t.raw_data).buffer);
  return Float32Array.from(t.float_data ?? []);
}

/** The stand-in's parameters, read and checked from its ONNX bytes. */
export interface AnalyticParams {
  /** 3x3x3 smoothing kernel, (dz, dy, dx) with dx fastest. */
  smooth: Float32Array;
  /** InstanceNormalization scale, bias, epsilon (one channel). */
  scale: number;
  bias: number;
  epsilon: number;
  /** Head weights [classes, 2] (z, z²) and biases. */
  head: Float32Array;
  headBias: Float32Array;
}

/** Reads the stand-in's parameters; throws when the graph is not the stand-in's. */
export function analyticParams(bytes: Uint8Array): AnalyticParams {
  const g = decodeModel(bytes).graph!;
  const ops = g.node!.map((n) => n.op_type).join(",");
  if (ops !== "Conv,Constant,Constant,InstanceNormalization,Mul,Concat,Conv") {
    throw new Error(`not the analytic stand-in graph (${ops})`);
  }
  const init = new Map(g.initializer!.map((t) => [t.name!, t]));
  const consts = new Map(g.node!.filter((n) => n.op_type === "Constant").map((n) => [n.output![0], n.attribute![0].t]));
  const [conv, , , norm, mul, concat, head] = g.node!;
  const pads = conv.attribute?.find((a) => a.name === "pads")?.ints?.map(num).join(",");
  if (conv.input!.length !== 2 || pads !== "1,1,1,1,1,1") throw new Error("unexpected smoothing conv");
  if (mul.input![0] !== norm.output![0] || mul.input![1] !== norm.output![0]) throw new Error("unexpected Mul");
  if (concat.input!.join() !== `${norm.output![0]},${mul.output![0]}`) throw new Error("unexpected Concat");
  const smooth = floats(init.get(conv.input![1]));
  const w = floats(init.get(head.input![1])), b = floats(init.get(head.input![2]));
  if (smooth.length !== 27 || w.length !== 2 * b.length) throw new Error("unexpected weight shapes");
  return {
    smooth,
    scale: floats(consts.get(norm.input![1]) ?? init.get(norm.input![1]))[0],
    bias: floats(consts.get(norm.input![2]) ?? init.get(norm.input![2]))[0],
    epsilon: norm.attribute?.find((a) => a.name === "epsilon")?.f ?? 1e-5,
    head: w,
    headBias: b,
  };
}

/** Runs the stand-in on one (z, y, x) tile in float64; returns float32 logits (classes, z, y, x). */
export function analytic64(p: AnalyticParams, tile: Float32Array, [d, h, w]: Shape3): Float32Array {
  const n = d * h * w;
  const s = new Float64Array(n);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let dz = -1; dz <= 1; dz++) {
          const zz = z + dz;
          if (zz < 0 || zz >= d) continue;
          for (let dy = -1; dy <= 1; dy++) {
            const yy = y + dy;
            if (yy < 0 || yy >= h) continue;
            const row = (zz * h + yy) * w, k = ((dz + 1) * 3 + dy + 1) * 3 + 1;
            for (let dx = -1; dx <= 1; dx++) {
              const xx = x + dx;
              if (xx >= 0 && xx < w) acc += p.smooth[k + dx] * tile[row + xx];
            }
          }
        }
        s[(z * h + y) * w + x] = acc;
      }
    }
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (s[i] - mean) ** 2;
  const k = p.scale / Math.sqrt(ss / n + p.epsilon);
  const classes = p.headBias.length;
  const out = new Float32Array(classes * n);
  for (let i = 0; i < n; i++) {
    const v = (s[i] - mean) * k + p.bias;
    const v2 = v * v;
    for (let c = 0; c < classes; c++) out[c * n + i] = p.head[2 * c] * v + p.head[2 * c + 1] * v2 + p.headBias[c];
  }
  return out;
}

/** A {@linkcode Backend} that runs the stand-in in float64 (input `x`, output `logits`, provider "float64"). */
export const analytic64Backend: Backend = {
  async create(source) {
    const bytes = typeof source.model === "string" ? await Deno.readFile(source.model) : source.model;
    const p = analyticParams(bytes);
    const session: NetworkSession = {
      inputName: "x",
      outputName: "logits",
      classes: p.headBias.length,
      provider: "float64",
      run: (tile, patch) => Promise.resolve(analytic64(p, tile, patch)),
      release: () => Promise.resolve(),
    };
    return session;
  },
};
