import { toFloat32Model } from "./lib/fp16.ts";
import * as ort from "onnxruntime-node";
for (const f of ["/tmp/tiny16.onnx", "/tmp/siam16.onnx"]) {
  const b = Deno.readFileSync(f);
  const t = performance.now();
  const r = toFloat32Model(b);
  console.log(f, r.rewritten, r.casts, r.tensors, r.bytes.length, ((performance.now() - t) / 1000).toFixed(2), "s");
  if (f.includes("tiny")) {
    const n = 32 * 32 * 32;
    const x = new ort.Tensor("float32", new Float32Array(n).map((_, i) => Math.sin(i)), [1, 1, 32, 32, 32]);
    const a = (await (await ort.InferenceSession.create(b)).run({ x })).logits.data as Float32Array;
    const c = (await (await ort.InferenceSession.create(r.bytes)).run({ x })).logits.data as Float32Array;
    let agree = 0;
    for (let i = 0; i < n; i++) {
      let ba = 0, bc = 0;
      for (let k = 1; k < 18; k++) {
        if (a[k * n + i] > a[ba * n + i]) ba = k;
        if (c[k * n + i] > c[bc * n + i]) bc = k;
      }
      if (ba === bc) agree++;
    }
    console.log("argmax agreement fp16 graph vs fp32 rewrite", agree / n);
  }
}
