import * as ort from "onnxruntime-node";
import { CONV_TRANSPOSE_3D, rewriteConvTranspose3d } from "../../../lib/engine/passes/conv_transpose.ts";
import { FP16_TO_FP32, PASSES, rewriteForProvider } from "../../../lib/engine/passes/rewrites.ts";
import { decodeModel, encodeModel } from "../../../lib/engine/onnx_proto.ts";
import { buildResEncUNet, PRESETS } from "../../../scripts/builders/model_builder.ts";
import { assert, assertEquals } from "../../_assert.ts";
import { quietRuntime } from "../../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

/** A tiny U-Net with an isotropic (2x2x2) and an anisotropic (2x2x1) upsampling. */
function model(fp16: boolean): Uint8Array {
  return buildResEncUNet({ ...PRESETS.tiny, strides: [[1, 1, 1], [2, 2, 2], [2, 2, 1]], fp16, seed: 3 }).bytes;
}

async function runCpu(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"], logSeverityLevel: 3 });
  try {
    const out = await s.run({ x: new ort.Tensor("float32", x, shape) });
    return out.logits.data as Float32Array;
  } finally {
    await s.release();
  }
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("conv_transpose: the rewrite is exact on the CPU provider (fp32 and fp16 weights, with and without bias, 2x2x2 and 2x2x1)", async () => {
  const shape = [1, 1, 8, 12, 6];
  const x = Float32Array.from({ length: 8 * 12 * 6 }, (_, i) => Math.sin(i * 0.37) * 2);
  for (const [fp16, bias] of [[false, true], [true, true], [false, false]]) {
    let original = model(fp16);
    if (!bias) {
      // nnU-Net variants without a ConvTranspose bias.
      const m0 = decodeModel(original);
      for (const n of m0.graph!.node!) if (n.op_type === "ConvTranspose") n.input = n.input!.slice(0, 2);
      original = encodeModel(m0);
    }
    const m = decodeModel(original);
    const { rewritten, skipped } = rewriteConvTranspose3d(m.graph!);
    assertEquals(rewritten, 2);
    assertEquals(skipped, []);
    assert(!m.graph!.node!.some((n) => n.op_type === "ConvTranspose"));
    const rew = encodeModel(m);
    // The CPU provider has no fp16 Conv: compare both through the fp32 upcast.
    const a = fp16 ? rewriteForProvider(original, "cpu", [FP16_TO_FP32]).bytes : original;
    const b = fp16 ? rewriteForProvider(rew, "cpu", [FP16_TO_FP32]).bytes : rew;
    const ya = await runCpu(a, x, shape), yb = await runCpu(b, x, shape);
    assertEquals(ya.length, 18 * 8 * 12 * 6);
    const d = maxDiff(ya, yb);
    assert(d < 1e-4, `fp16=${fp16} bias=${bias}: max difference ${d}`);
  }
});

Deno.test("conv_transpose: the pass runs for webgpu only and leaves other ConvTransposes named", () => {
  assert(PASSES.includes(CONV_TRANSPOSE_3D));
  const bytes = model(false);
  assert(CONV_TRANSPOSE_3D.wanted(bytes, "webgpu"));
  assert(!CONV_TRANSPOSE_3D.wanted(bytes, "cpu"));
  // (This pass alone: the InstanceNorm pass rewrites this model on every provider.)
  assert(rewriteForProvider(bytes, "cpu", [CONV_TRANSPOSE_3D]).bytes === bytes, "untouched on the CPU");
  const r = rewriteForProvider(bytes, "webgpu", [CONV_TRANSPOSE_3D]);
  assertEquals(r.steps, ["convtranspose3d->conv+d2s: 2 rewritten"]);
  // A kernel-3 stride-2 ConvTranspose overlaps its outputs: not rewritten, named.
  const m = decodeModel(bytes);
  const ct = m.graph!.node!.find((n) => n.op_type === "ConvTranspose")!;
  ct.attribute = ct.attribute!.map((a) => a.name === "strides" ? { ...a, ints: [1, 1, 1] } : a);
  const { rewritten, skipped } = rewriteConvTranspose3d(m.graph!);
  assertEquals(rewritten, 1);
  assertEquals(skipped.length, 1);
  assert(skipped[0].includes("stride 1x1x1 is not the kernel 2x2x1"), skipped[0]);
});
