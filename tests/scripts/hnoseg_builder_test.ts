import * as ort from "onnxruntime-node";
import { decodeModel, num } from "../../lib/engine/onnx_proto.ts";
import { prng } from "../../scripts/builders/graph_builder.ts";
import {
  buildHartleyLayerModel,
  buildHNOSeg,
  CAS3_SIGNS,
  HNOSEG_XS,
  hnosegParameterCount,
} from "../../scripts/builders/hnoseg_builder.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_fixtures.ts";
import { join } from "../../lib/core/_std.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { quietRuntime } from "../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

const SELU_A = 1.6732632423543772, SELU_S = 1.0507009873554805;
const selu = (v: number) => SELU_S * (v > 0 ? v : SELU_A * (Math.exp(v) - 1));

/** Kept frequencies of one axis, in the network's order: 0..m-1, then n-m..n-1. */
function kept(n: number, mode: number): number[] {
  const m = Math.min(mode, n >> 1);
  return [...Array(m).keys(), ...Array.from({ length: m }, (_, i) => n - m + i)];
}

/**
 * Float64 reference of one Hartley layer, straight from the definition (no
 * separable trick): H[k] = (1/N) Σ x[j] cas(2π Σ_a j_a k_a / n_a) over the
 * kept corner frequencies, `mixes` times h ← SELU(W h + h), then
 * y[j] = Σ_k h[k] cas(…) (the zero-padded unscaled inverse).
 */
function hartleyLayerRef(
  x: Float32Array,
  c: number,
  dims: [number, number, number],
  modes: [number, number, number],
  mixes: Float32Array[],
): Float64Array {
  const [D, H, W] = dims;
  const V = D * H * W;
  const kd = kept(D, modes[0]), kh = kept(H, modes[1]), kw = kept(W, modes[2]);
  const K = kd.length * kh.length * kw.length;
  const cas = (t: number) => Math.cos(t) + Math.sin(t);
  const phase = (jd: number, jh: number, jw: number, a: number, b: number, e: number) =>
    2 * Math.PI * (((jd * a) % D) / D + ((jh * b) % H) / H + ((jw * e) % W) / W);
  let h = new Float64Array(c * K);
  for (let ch = 0; ch < c; ch++) {
    let q = 0;
    for (const a of kd) {
      for (const b of kh) {
        for (const e of kw) {
          let s = 0;
          for (let jd = 0, j = 0; jd < D; jd++) {
            for (let jh = 0; jh < H; jh++) {
              for (let jw = 0; jw < W; jw++, j++) s += x[ch * V + j] * cas(phase(jd, jh, jw, a, b, e));
            }
          }
          h[ch * K + q++] = s / V;
        }
      }
    }
  }
  for (const w of mixes) {
    const out = new Float64Array(c * K);
    for (let o = 0; o < c; o++) {
      for (let q = 0; q < K; q++) {
        let s = h[o * K + q];
        for (let i = 0; i < c; i++) s += w[o * c + i] * h[i * K + q];
        out[o * K + q] = selu(s);
      }
    }
    h = out;
  }
  const y = new Float64Array(c * V);
  for (let jd = 0, j = 0; jd < D; jd++) {
    for (let jh = 0; jh < H; jh++) {
      for (let jw = 0; jw < W; jw++, j++) {
        let q = 0;
        const acc = new Float64Array(c);
        for (const a of kd) {
          for (const b of kh) {
            for (const e of kw) {
              const t = cas(phase(jd, jh, jw, a, b, e));
              for (let ch = 0; ch < c; ch++) acc[ch] += h[ch * K + q] * t;
              q++;
            }
          }
        }
        for (let ch = 0; ch < c; ch++) y[ch * V + j] = acc[ch];
      }
    }
  }
  return y;
}

async function run(bytes: Uint8Array, name: string, x: Float32Array, shape: number[]) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  try {
    const out = await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", x, shape) });
    return out[name];
  } finally {
    await s.release();
  }
}

Deno.test("cas(a+b+c) expands to the eight cos/sin products with CAS3_SIGNS", () => {
  const [a, b, c] = [0.3, 1.7, -2.2];
  const f = (p: number, t: number) => (p ? Math.sin(t) : Math.cos(t));
  let s = 0;
  for (let i = 0; i < 8; i++) s += CAS3_SIGNS[i] * f(i >> 2 & 1, a) * f(i >> 1 & 1, b) * f(i & 1, c);
  assert(Math.abs(s - (Math.cos(a + b + c) + Math.sin(a + b + c))) < 1e-12);
});

Deno.test("Hartley layer in ONNX Runtime matches a float64 reference of the same math", async () => {
  const cases: { dims: [number, number, number]; modes: [number, number, number] }[] = [
    { dims: [9, 12, 14], modes: [3, 4, 5] }, // odd and even sizes, modes kept as given
    { dims: [7, 10, 8], modes: [10, 14, 14] }, // modes clipped to ⌊n/2⌋ (all of an even axis kept)
  ];
  for (const { dims, modes } of cases) {
    const c = 3;
    const V = dims[0] * dims[1] * dims[2];
    const r = prng(11);
    const x = Float32Array.from({ length: c * V }, () => 2 * r() - 1 + 0.3);
    const { bytes, mixes } = buildHartleyLayerModel(c, 3, modes, 5);
    assertEquals(mixes.length, 3);
    const y = (await run(bytes, "y", x, [1, c, ...dims])).data as Float32Array;
    const ref = hartleyLayerRef(x, c, dims, modes, mixes);
    let err = 0, scale = 0;
    for (let i = 0; i < y.length; i++) {
      err = Math.max(err, Math.abs(y[i] - ref[i]));
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    assert(scale > 0.1, `reference scale ${scale}`);
    assert(err < 1e-5 * Math.max(1, scale), `dims ${dims} modes ${modes}: max error ${err} (scale ${scale})`);
  }
});

Deno.test("hnoseg-xs preset: 28,248 parameters, IBM's state-dict names, logits by default", () => {
  assertEquals(hnosegParameterCount(HNOSEG_XS), 28248);
  const { bytes, parameters } = buildHNOSeg({ ...HNOSEG_XS, seed: 1 });
  assertEquals(parameters, 28248);
  const m = decodeModel(bytes);
  const names = m.graph!.initializer!.map((t) => t.name!);
  for (const n of ["conv_in.op.weight", "layers.5.mapping_conv.op.weight", "layers.7.conv_blocks.2.op.weight"]) {
    assert(names.includes(n), n);
  }
  assert(!names.includes("layers.4.mapping_conv.op.weight"), "block 4 has no skip input");
  const ops = new Set(m.graph!.node!.map((n) => n.op_type));
  for (const op of ["Selu", "Cos", "Sin", "Range", "MatMul", "Resize"]) assert(ops.has(op), op);
  for (const op of ["Softmax", "DFT", "InstanceNormalization", "GroupNormalization"]) assert(!ops.has(op), op);
  const dims = m.graph!.input![0].type!.tensor_type!.shape!.dim!;
  assertEquals(dims.map((d) => d.dim_param || num(d.dim_value)), ["batch", 4, "D", "H", "W"]);
  const soft = decodeModel(buildHNOSeg({ ...HNOSEG_XS, seed: 1, softmax: true }).bytes);
  assert(soft.graph!.node!.some((n) => n.op_type === "Softmax"));
});

Deno.test("hnoseg-xs runs at arbitrary spatial sizes; output on the input grid; softmax variant sums to 1", async () => {
  const logits = buildHNOSeg({ ...HNOSEG_XS, seed: 2 }).bytes;
  const soft = buildHNOSeg({ ...HNOSEG_XS, seed: 2, softmax: true }).bytes;
  // 13x17x11: modes clipped; 44x58x60: downsampled to 23x30x31, modes (10, 14, 14) kept as given.
  for (const dims of [[13, 17, 11], [44, 58, 60]]) {
    const V = dims[0] * dims[1] * dims[2];
    const r = prng(3);
    const x = Float32Array.from({ length: 4 * V }, () => r() * 2 - 1);
    const y = await run(logits, "logits", x, [1, 4, ...dims]);
    assertEquals(y.dims, [1, 4, ...dims]);
    const a = y.data as Float32Array;
    assert(a.every(Number.isFinite));
    const p = (await run(soft, "logits", x, [1, 4, ...dims])).data as Float32Array;
    for (const j of [0, V >> 1, V - 1]) {
      let s = 0, best = 0, arg = 0;
      for (let c = 0; c < 4; c++) {
        s += p[c * V + j];
        if (a[c * V + j] > a[arg * V + j]) arg = c;
        if (p[c * V + j] > p[best * V + j]) best = c;
      }
      assert(Math.abs(s - 1) < 1e-5);
      assertEquals(best, arg);
    }
  }
});

Deno.test("conv_out before the resize gives the original order's logits", async () => {
  const dims = [21, 30, 26];
  const V = dims[0] * dims[1] * dims[2];
  const r = prng(8);
  const x = Float32Array.from({ length: 4 * V }, () => r() * 2 - 1);
  const a = (await run(buildHNOSeg({ ...HNOSEG_XS, seed: 6 }).bytes, "logits", x, [1, 4, ...dims]))
    .data as Float32Array;
  const orig = buildHNOSeg({ ...HNOSEG_XS, seed: 6, resizeFirst: true }).bytes;
  const b = (await run(orig, "logits", x, [1, 4, ...dims])).data as Float32Array;
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert(scale > 0.1 && err < 1e-5 * scale, `max difference ${err} (scale ${scale})`);
});

Deno.test("make-model writes the hnoseg-xs preset; --fp16 is refused for it", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "hnoseg.onnx");
  assertEquals(await makeModel("hnoseg-xs", out, false, 4), 28248);
  assertEquals(await Deno.readFile(out), new Uint8Array(buildHNOSeg({ ...HNOSEG_XS, seed: 4 }).bytes));
  await assertRejects(() => makeModel("hnoseg-xs", join(dir.path, "x.onnx"), true), /--fp16 is not available/);
  // --weights: the seed-4 model's initialisers, by name, into a seed-9 build.
  const again = join(dir.path, "again.onnx");
  await makeModel("hnoseg-xs", again, false, 9, out);
  const inits = async (p: string) => decodeModel(await Deno.readFile(p)).graph!.initializer!;
  const [a, b] = [await inits(out), await inits(again)];
  assertEquals(a.map((t) => [t.name, Array.from(t.raw_data!)]), b.map((t) => [t.name, Array.from(t.raw_data!)]));
  await assertRejects(() => makeModel("tiny", join(dir.path, "t.onnx"), false, 1, out), /--weights is not available/);
  await assertRejects(
    () => makeModel("segresnet", join(dir.path, "s.onnx"), false, 1, out),
    /no float32 initialiser named "convInit.conv.weight"/,
  );
});
