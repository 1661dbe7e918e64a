import { describeAdapter, isSoftwareAdapter } from "../../lib/engine/gpu_adapter.ts";
import { doctor, doctorText } from "../../lib/cli/doctor.ts";
import { assert, assertEquals } from "../_assert.ts";

const LLVMPIPE = { vendor: "65541", architecture: "", description: "llvmpipe (LLVM 15.0.6, 256 bits)", software: true };
const NVIDIA = { vendor: "nvidia", architecture: "hopper", description: "NVIDIA H100 80GB HBM3", software: false };

Deno.test("gpu_adapter: software rasterisers are told from real GPUs", () => {
  assert(isSoftwareAdapter({ description: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
  assert(isSoftwareAdapter({ description: "Google SwiftShader" }));
  assert(isSoftwareAdapter({ vendor: "mesa", description: "lavapipe" }));
  assert(isSoftwareAdapter({ description: "whatever", isFallbackAdapter: true }));
  assert(!isSoftwareAdapter({ vendor: "nvidia", description: "NVIDIA GeForce RTX 4090" }));
  assert(
    !isSoftwareAdapter({ vendor: "amd", architecture: "rdna-3", description: "AMD Radeon RX 7900 XTX (RADV NAVI31)" }),
  );
  assertEquals(describeAdapter(LLVMPIPE), "llvmpipe (LLVM 15.0.6, 256 bits) (vendor 65541, software)");
  assertEquals(describeAdapter(NVIDIA), "NVIDIA H100 80GB HBM3 (vendor nvidia, architecture hopper)");
});

Deno.test("doctor: every provider with what it needs; auto never picks a software adapter", async () => {
  const soft = await doctor({ os: "linux", adapter: () => Promise.resolve(LLVMPIPE) });
  assertEquals(soft.map((r) => r.provider), ["cpu", "cuda", "tensorrt", "webgpu"]);
  assert(soft[0].ready);
  for (const r of soft) assert(r.needs.length > 0, r.provider);
  const lines = await doctorText({ os: "linux", adapter: () => Promise.resolve(LLVMPIPE) });
  const webgpu = lines.find((l) => l.startsWith("webgpu"))!;
  const auto = lines.find((l) => l.startsWith("auto"))!;
  if (soft[3].ready) {
    assert(webgpu.includes("llvmpipe") && webgpu.includes("auto skips it"), webgpu);
    assert(!auto.includes("webgpu"), auto);
  }
  const none = await doctor({ os: "linux", adapter: () => Promise.resolve(undefined) });
  assert(!none[3].ready);
  assert(/no Vulkan loader|no WebGPU adapter|not in this platform/.test(none[3].detail), none[3].detail);
  const real = await doctorText({ os: "linux", adapter: () => Promise.resolve(NVIDIA) });
  const realAuto = real.find((l) => l.startsWith("auto"))!;
  const cudaReady = (await doctor({ os: "linux", adapter: () => Promise.resolve(NVIDIA) }))[1].ready;
  if (!cudaReady && real.find((l) => l.startsWith("webgpu"))!.includes(" yes ")) {
    assert(realAuto.startsWith("auto      webgpu"), realAuto);
  }
});
