/**
 * `siamize doctor`: what each execution provider needs, whether it is there
 * on this machine, and what `auto` would do — without loading a model.
 *
 * @module
 */
import * as ort from "../engine/_onnxruntime.ts";
import type { Compute } from "../core/types.ts";
import { type AdapterInfo, describeAdapter, webgpuAdapter } from "../engine/gpu_adapter.ts";
import { autoOrder, CUDA_INSTALL_COMMAND, ortBinaryDir, providerObstacle } from "../engine/ort.ts";
import { mallocStatus } from "./malloc_tuning.ts";

/** What {@linkcode doctor} found for one provider. */
export interface ProviderStatus {
  /** The `-c` value. */
  provider: Compute;
  /** Whether it can start here (as far as can be told without a model). */
  ready: boolean;
  /** Why not, or what it runs on. */
  detail: string;
  /** What it needs. */
  needs: string;
}

/** Options of {@linkcode doctor}. */
export interface DoctorOptions {
  /** Operating system. @default Deno.build.os */
  os?: string;
  /** The WebGPU adapter (tests inject one). @default asked through navigator.gpu */
  adapter?: () => Promise<AdapterInfo | undefined>;
}

const NEEDS: Record<string, string> = {
  cpu: "nothing (bundled)",
  cuda: `an NVIDIA GPU, CUDA 12 and cuDNN 9, and the provider library: ${CUDA_INSTALL_COMMAND}`,
  tensorrt: `as cuda, plus TensorRT 10 libraries: ${CUDA_INSTALL_COMMAND}`,
  webgpu: "a Vulkan (Linux), D3D12 (Windows) or Metal (macOS) driver; on Linux libvulkan1 and the vendor's ICD",
  coreml: "macOS (bundled in the macOS binary)",
};

/** The providers' status on this machine. */
export async function doctor(options: DoctorOptions = {}): Promise<ProviderStatus[]> {
  const os = options.os ?? Deno.build.os;
  const adapter = await (options.adapter ?? webgpuAdapter)();
  const all: Compute[] = ["cpu", "cuda", "tensorrt", "webgpu", "coreml"];
  return all.map((p) => {
    let obstacle = providerObstacle(p);
    let detail = "available";
    if (!obstacle && p === "webgpu") {
      if (!adapter) obstacle = "no WebGPU adapter (no GPU driver found)";
      else {detail = `adapter ${describeAdapter(adapter)}${
          adapter.software ? "; auto skips it, -c webgpu uses it" : ""
        }`;}
    }
    if (!obstacle && (p === "cuda" || p === "tensorrt")) {
      detail = "provider library present (the GPU is checked at load)";
    }
    return { provider: p, ready: !obstacle, detail: obstacle ?? detail, needs: NEEDS[p] ?? "" } as ProviderStatus;
  }).filter((s) => s.ready || s.provider === "cuda" || s.provider === "tensorrt" || autoOrder(os).includes(s.provider));
}

/** `doctor` as text lines. */
export async function doctorText(options: DoctorOptions = {}): Promise<string[]> {
  const rows = await doctor(options);
  const os = options.os ?? Deno.build.os;
  const lines = [
    `onnxruntime-node ${ort.env.versions?.common ?? "?"} (${ortBinaryDir() ?? "binary not found"})`,
  ];
  for (const r of rows) {
    lines.push(`${r.provider.padEnd(9)} ${r.ready ? "yes" : "no "}  ${r.detail}`);
    if (r.provider !== "cpu") lines.push(`          needs: ${r.needs}`);
  }
  const auto = autoOrder(os).find((p) => {
    const r = rows.find((x) => x.provider === p);
    return r?.ready && !(p === "webgpu" && r.detail.includes("auto skips"));
  });
  lines.push(
    `auto      ${auto ?? "cpu"}${auto ? " (if its warm-up run passes, else cpu)" : " (no GPU provider ready here)"}`,
  );
  lines.push(`malloc    ${mallocStatus()}`);
  return lines;
}
