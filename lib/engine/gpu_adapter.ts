/**
 * Which GPU adapter WebGPU would get here, asked through Deno's own
 * `navigator.gpu` (no flag needed): its vendor, architecture and driver
 * description name the adapter in logs and reports, and tell a software
 * rasteriser (Mesa's llvmpipe/lavapipe, SwiftShader) from a real GPU, so that
 * `auto` never picks one. ONNX Runtime's WebGPU provider (Dawn) sees the same
 * Vulkan/Metal/D3D12 drivers.
 *
 * @module
 */

/** What the WebGPU adapter says about itself. */
export interface AdapterInfo {
  /** Vendor (a name or a PCI id). */
  vendor: string;
  /** Architecture, often empty. */
  architecture: string;
  /** Driver / device description (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`). */
  description: string;
  /** Whether it is a software rasteriser running on the CPU. */
  software: boolean;
}

/** Whether adapter info describes a software rasteriser (llvmpipe, lavapipe, SwiftShader, WARP, a fallback adapter). */
export function isSoftwareAdapter(
  info: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean },
): boolean {
  if (info.isFallbackAdapter) return true;
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.description ?? ""}`;
  return /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i.test(text);
}

/** One-line name of an adapter for logs and reports. */
export function describeAdapter(a: AdapterInfo): string {
  const parts = [a.description || "unnamed adapter"];
  const extra = [a.vendor && `vendor ${a.vendor}`, a.architecture && `architecture ${a.architecture}`]
    .filter(Boolean);
  if (a.software) extra.push("software");
  return extra.length ? `${parts[0]} (${extra.join(", ")})` : parts[0];
}

let cached: Promise<AdapterInfo | undefined> | undefined;

/**
 * The adapter WebGPU gets here (high-performance preference), or undefined
 * when there is none (no driver, no `navigator.gpu`); asked once per process.
 */
export function webgpuAdapter(timeoutMs = 15000): Promise<AdapterInfo | undefined> {
  cached ??= (async () => {
    const gpu = (navigator as { gpu?: GPU }).gpu;
    if (!gpu) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const a = await Promise.race([
        gpu.requestAdapter({ powerPreference: "high-performance" }),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs))),
      ]);
      if (!a) return undefined;
      const i = a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean; description?: string };
      return {
        vendor: i.vendor ?? "",
        architecture: i.architecture ?? "",
        description: i.description ?? "",
        software: isSoftwareAdapter(i),
      };
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  })();
  return cached;
}
