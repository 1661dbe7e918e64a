/**
 * The ONNX Runtime adapter: one small interface ({@linkcode Backend} →
 * {@linkcode NetworkSession}) over onnxruntime-node, so another backend (Deno
 * FFI on the C API, onnxruntime-web) can slot in later.
 *
 * Execution providers: `auto` tries the GPU providers this platform's binary
 * has, in order, and falls back to CPU with one log line naming what was
 * missing; an explicit provider that cannot start is an error.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { createRequire } from "node:module";
import { dirname, join } from "./_std.ts";
import type { Compute } from "./args.ts";
import { SiamizeError } from "./errors.ts";
import { isFileSync } from "./fsutil.ts";
import type { Shape3 } from "./resample.ts";

/** Graph optimisation levels of ONNX Runtime. */
export type GraphOptimization = "disabled" | "basic" | "extended" | "all";

/** How to create a session. */
export interface SessionConfig {
  /** Provider choice. @default "auto" */
  compute?: Compute;
  /** GPU device id. @default 0 */
  gpu?: number;
  /** Intra-op threads. @default min(cores, 16) */
  threads?: number;
  /** Disable the CPU memory arena (much lower peak memory at the same speed). @default false */
  noArena?: boolean;
  /** Graph optimisation level. @default "all" */
  graphOptimization?: GraphOptimization;
  /** Receives one-line messages (fallbacks, provider choice). */
  log?: (message: string) => void;
  /** ORT's own log level. @default "error" */
  ortLogLevel?: "verbose" | "info" | "warning" | "error" | "fatal";
}

/** A loaded network. */
export interface NetworkSession {
  /** Input and output tensor names (from the model). */
  readonly inputName: string;
  /** Output tensor name. */
  readonly outputName: string;
  /** Output channels (from the model's output shape). */
  readonly classes: number;
  /** Provider actually running the model ("cpu", "cuda", "webgpu", …). */
  readonly provider: string;
  /** Input channels (from the model's input shape), when static. */
  readonly inputChannels?: number;
  /**
   * Runs one (1, K, z, y, x) tile — K input channels, taken from the tile's
   * length (1 for SIAM) — and returns (1, C, z, y, x) logits.
   */
  run(tile: Float32Array, patch: Shape3): Promise<Float32Array>;
  /** Frees the session. */
  release(): Promise<void>;
}

/** A model to load: its bytes (or path), and optionally a CPU-specific variant. */
export interface ModelSource {
  /** ONNX bytes or a file path. */
  model: string | Uint8Array;
  /** Name for messages. */
  label: string;
  /**
   * The model to use on the provider that was chosen (load-time graph
   * rewrites, e.g. an fp16 graph rewritten to fp32 for the CPU); called once
   * per provider tried. Without it the model is used as it is.
   */
  forProvider?: (provider: Compute) => Uint8Array | Promise<Uint8Array>;
}

/** Something that creates sessions from ONNX models. */
export interface Backend {
  /** Creates a session on the configured provider. */
  create(source: ModelSource, config: SessionConfig): Promise<NetworkSession>;
}

/** Default thread count: min(available cores, 16). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 16));
}

/** Where onnxruntime-node's native libraries live (for provider-library checks). */
export function ortBinaryDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("onnxruntime-node/package.json");
    const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
    const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
    return join(dirname(pkg), "bin", "napi-v6", os, arch);
  } catch {
    return undefined;
  }
}

/** GPU providers `auto` tries on this platform, in order. */
export function autoOrder(os: string = Deno.build.os): Compute[] {
  if (os === "darwin") return ["coreml", "webgpu"];
  return ["cuda", "webgpu"];
}

/**
 * Why a provider cannot start here, checked cheaply before asking ORT
 * (which prints native errors of its own); undefined when it may work.
 */
export function providerObstacle(p: Compute, binDir: string | undefined = ortBinaryDir()): string | undefined {
  const supported =
    (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.() ?? [];
  if (p === "cpu") return undefined;
  if (!supported.some((b) => b.name === p)) {
    return `the ${p} provider is not in this platform's onnxruntime-node binary`;
  }
  if ((p === "cuda" || p === "tensorrt") && binDir && Deno.build.os === "linux") {
    const lib = `libonnxruntime_providers_${p}.so`;
    if (!isFileSync(join(binDir, lib))) {
      return `${lib} is not installed (reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 and --allow-scripts; see README)`;
    }
  }
  if (p === "webgpu" && Deno.build.os === "linux") {
    try {
      Deno.dlopen("libvulkan.so.1", {}).close();
    } catch {
      return "no Vulkan loader (libvulkan.so.1) for WebGPU";
    }
  }
  return undefined;
}

function providerOption(p: Compute, gpu: number): ort.InferenceSession.ExecutionProviderConfig {
  if (p === "cuda" || p === "tensorrt") {
    return { name: p, deviceId: gpu } as ort.InferenceSession.ExecutionProviderConfig;
  }
  if (p === "webgpu") {
    return { name: "webgpu", deviceId: gpu } as unknown as ort.InferenceSession.ExecutionProviderConfig;
  }
  return p;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").map((s) => s.trim()).find((s) => s) ??
    "unknown error";
}

class OrtSession implements NetworkSession {
  readonly inputName: string;
  readonly outputName: string;
  readonly classes: number;
  readonly provider: string;
  readonly inputChannels?: number;
  #session: ort.InferenceSession;

  constructor(session: ort.InferenceSession, provider: string, label: string) {
    this.#session = session;
    this.provider = provider;
    if (session.inputNames.length !== 1) {
      throw new SiamizeError(`${label}: model has ${session.inputNames.length} inputs, expected 1 image input`);
    }
    this.inputName = session.inputNames[0];
    this.outputName = session.outputNames[0];
    const meta = session.outputMetadata.find((m) => m.name === this.outputName) as
      | { shape?: (number | string)[] }
      | undefined;
    const c = meta?.shape?.[1];
    if (typeof c !== "number" || !(c >= 2)) {
      throw new SiamizeError(
        `${label}: model output "${this.outputName}" has no static class dimension (shape ${
          JSON.stringify(meta?.shape)
        })`,
      );
    }
    this.classes = c;
    const inMeta = session.inputMetadata.find((m) => m.name === this.inputName) as
      | { shape?: (number | string)[] }
      | undefined;
    const k = inMeta?.shape?.[1];
    if (typeof k === "number") this.inputChannels = k;
  }

  async run(tile: Float32Array, patch: Shape3): Promise<Float32Array> {
    const voxels = patch[0] * patch[1] * patch[2];
    const channels = tile.length / voxels;
    if (!Number.isInteger(channels) || channels < 1) {
      throw new RangeError(`tile has ${tile.length} values, not a multiple of the patch ${patch.join("x")}`);
    }
    const x = new ort.Tensor("float32", tile, [1, channels, ...patch]);
    const out = await this.#session.run({ [this.inputName]: x });
    const y = out[this.outputName];
    if (y.type !== "float32") throw new SiamizeError(`model output is ${y.type}, expected float32`);
    // onnxruntime-node copies outputs into fresh JS memory: use it as is (a
    // copy of an 18-channel full-size tile is ~0.9 GB).
    return y.data as Float32Array;
  }

  release(): Promise<void> {
    return this.#session.release();
  }
}

/** The onnxruntime-node backend. */
export const ortBackend: Backend = {
  async create(source, config) {
    const label = source.label;
    const log = config.log ?? (() => {});
    ort.env.logLevel = config.ortLogLevel ?? "error";
    const base: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: config.threads ?? defaultThreads(),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: config.graphOptimization ?? "all",
      enableCpuMemArena: !config.noArena,
      enableMemPattern: !config.noArena,
      logSeverityLevel: 3,
    };
    const open = async (p: Compute) => {
      const opts = { ...base, executionProviders: [providerOption(p, config.gpu ?? 0)] };
      const model = source.forProvider ? await source.forProvider(p) : source.model;
      const s = typeof model === "string"
        ? await ort.InferenceSession.create(model, opts)
        : await ort.InferenceSession.create(model, opts);
      return new OrtSession(s, p, label);
    };
    const compute = config.compute ?? "auto";
    const openCpu = async () => {
      try {
        return await open("cpu");
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
        throw new SiamizeError(`${label}: cannot load model (${firstLine(e)})`, 65, { cause: e });
      }
    };
    if (compute === "cpu") return await openCpu();
    if (compute !== "auto") {
      const obstacle = providerObstacle(compute);
      if (obstacle) throw new SiamizeError(`-c ${compute}: cannot start: ${obstacle}`);
      try {
        return await open(compute);
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
        throw new SiamizeError(`-c ${compute}: cannot start: ${firstLine(e)}`, 1, { cause: e });
      }
    }
    const missing: string[] = [];
    for (const p of autoOrder()) {
      const obstacle = providerObstacle(p);
      if (obstacle) {
        missing.push(`${p}: ${obstacle}`);
        continue;
      }
      try {
        return await open(p);
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
        missing.push(`${p}: ${firstLine(e)}`);
      }
    }
    if (missing.length) log(`using CPU (${missing.join("; ")})`);
    return await openCpu();
  },
};
