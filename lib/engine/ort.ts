/**
 * The ONNX Runtime adapter: one small interface ({@linkcode Backend} →
 * {@linkcode NetworkSession}) over onnxruntime-node, so another backend (Deno
 * FFI on the C API, onnxruntime-web) can slot in later.
 *
 * Execution providers: `auto` tries the GPU providers this platform's binary
 * has, in order, uses one only after a small warm-up run of the real model
 * passed on it, never picks a software adapter (llvmpipe, SwiftShader), and
 * falls back to CPU with one log line naming what was missing; an explicit
 * provider that cannot start (or fails its warm-up) is an error.
 *
 * @module
 */
import * as ort from "./_onnxruntime.ts";
import { createRequire } from "node:module";
import { dirname, join } from "../core/_std.ts";
import type { Compute, Shape3 } from "../core/types.ts";
import { SiamizeError } from "../core/errors.ts";
import { isFileSync } from "../core/fsutil.ts";
import { describeAdapter, webgpuAdapter } from "./gpu_adapter.ts";
import { placementReport } from "./placement.ts";
import { OrtSession } from "./ort_session.ts";

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
  /**
   * Receives what is news only on request (`-v`): `auto`'s CPU fallback when
   * no GPU provider is installed, or when the only GPU is a software adapter
   * (Mesa's llvmpipe/lavapipe, SwiftShader). A fallback past a hardware GPU
   * that started and then failed (e.g. its warm-up run) goes to `log`. @default log
   */
  detail?: (message: string) => void;
  /** ORT's own log level. @default "error" */
  ortLogLevel?: "verbose" | "info" | "warning" | "error" | "fatal";
  /**
   * Tile (z, y, x) of the warm-up run that a GPU provider must pass before it
   * is used (so that a run-time op failure falls back, or fails, at once
   * instead of mid-run). @default [32, 32, 32]
   */
  warmup?: Shape3;
  /** Log which nodes of the warm-up run were not on the GPU provider (ORT profiling). @default false */
  placement?: boolean;
  /** Let `auto` use a software WebGPU adapter (llvmpipe, SwiftShader), as tests on a software Vulkan need. @default false */
  allowSoftwareAdapter?: boolean;
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
  /** The GPU adapter (WebGPU), when known. */
  readonly adapter?: string;
  /** Input channels (from the model's input shape), when static. */
  readonly inputChannels?: number;
  /**
   * Runs one (1, K, z, y, x) tile — K input channels, taken from the tile's
   * length (1 for SIAM) — and returns (1, C, z, y, x) logits in a new array
   * the caller owns (the tile loop frees it once added, see `Fold.freshOutputs`).
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
  /**
   * Creates a session on the configured provider. The model's bytes (and
   * what `forProvider` returned) are the caller's, who may free them once
   * this settles: a session must not keep them.
   */
  create(source: ModelSource, config: SessionConfig): Promise<NetworkSession>;
}

/** Default thread count: min(available cores, 16). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 16));
}

/**
 * The thread options of every onnxruntime-node session: `threads` intra-op
 * threads (default {@linkcode defaultThreads}), one inter-op thread,
 * sequential execution, and ORT's threads told to stop spinning as soon as
 * a run returns (`session.force_spinning_stop`; they spin again in the next
 * run). By default they spin-wait for a while after `run` returns, on the
 * cores our own threads then need for the tile loop; turning spinning off
 * altogether (`allow_spinning = 0`) slowed a full-size network by a third.
 * See docs/performance.md#spinning.
 */
export function threadOptions(threads?: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: "sequential",
    extra: { session: { force_spinning_stop: "1" } },
  };
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

/**
 * The command that installs the CUDA/TensorRT provider libraries into a
 * project's `node_modules` by letting Deno run onnxruntime-node's install
 * script (it downloads them from NuGet).
 */
export const CUDA_INSTALL_COMMAND = "ONNXRUNTIME_NODE_INSTALL=cuda12 deno install --allow-scripts=npm:onnxruntime-node";

/** What to do about a provider's obstacle, for the `-c` error (empty when there is nothing to add). */
export function providerFix(p: Compute, obstacle: string): string {
  if ((p === "cuda" || p === "tensorrt") && obstacle.endsWith("is not installed")) {
    return `; install it with: ${CUDA_INSTALL_COMMAND} (needs CUDA 12 and cuDNN 9${
      p === "tensorrt" ? " and TensorRT 10" : ""
    }; see README "GPUs", and siamize doctor)`;
  }
  return "";
}

/** Why `auto` skips a provider whose only adapter is a software rasteriser (`-c webgpu` still uses it). */
async function softwareAdapterObstacle(p: Compute): Promise<string | undefined> {
  if (p !== "webgpu") return undefined;
  const a = await webgpuAdapter();
  if (!a) return undefined; // Deno's WebGPU saw none; ONNX Runtime's own (Dawn) may still: let it try
  if (a.software) {
    return `the only adapter is a software one, ${
      describeAdapter(a)
    }, slower than the CPU provider (-c webgpu uses it)`;
  }
  return undefined;
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
      return `${lib} is not installed`;
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

/** The onnxruntime-node execution-provider entry for a provider name. */
export function providerOption(p: Compute, gpu: number): ort.InferenceSession.ExecutionProviderConfig {
  if (p === "cuda" || p === "tensorrt") {
    return { name: p, deviceId: gpu } as ort.InferenceSession.ExecutionProviderConfig;
  }
  if (p === "webgpu") {
    // ORT's WebGPU provider takes no device id ("unrecognized option"): the adapter is Dawn's choice.
    return { name: "webgpu" } as unknown as ort.InferenceSession.ExecutionProviderConfig;
  }
  return p;
}

/** The first non-empty line of an error's message. */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").map((s) => s.trim()).find((s) => s) ??
    "unknown error";
}

/** The environment variable that stops ONNX Runtime's telemetry (1.29+), read when its environment is created. */
export const ORT_TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY";

/**
 * Turns ONNX Runtime's telemetry off before its first session, unless the
 * user set {@linkcode ORT_TELEMETRY_ENV} themselves. Its telemetry client
 * otherwise leaves `mat-debug-<pid>.log` and `.ses` files in the temp
 * folder on every run (and may reach the network). Needs env permission
 * for that one variable; without it the run goes on (with the litter).
 */
export function quietRuntime(): void {
  try {
    if (Deno.env.get(ORT_TELEMETRY_ENV) === undefined) Deno.env.set(ORT_TELEMETRY_ENV, "1");
  } catch { /* no env permission */ }
}

/** The onnxruntime-node backend. */
export const ortBackend: Backend = {
  async create(source, config) {
    quietRuntime();
    const label = source.label;
    const log = config.log ?? (() => {});
    ort.env.logLevel = config.ortLogLevel ?? "error";
    const base: ort.InferenceSession.SessionOptions = {
      ...threadOptions(config.threads),
      graphOptimizationLevel: config.graphOptimization ?? "all",
      enableCpuMemArena: !config.noArena,
      enableMemPattern: !config.noArena,
      logSeverityLevel: 3,
    };
    const open = async (p: Compute) => {
      const profile = config.placement && p !== "cpu" ? await Deno.makeTempDir({ prefix: "siamize-prof-" }) : "";
      try {
        const opts = {
          ...base,
          executionProviders: [providerOption(p, config.gpu ?? 0)],
          // A GPU op that fails is reported (or falls back) through our own message: keep ORT's quiet.
          ...(p === "cpu" ? {} : { logSeverityLevel: 4 as const }),
          ...(profile ? { enableProfiling: true, profileFilePrefix: join(profile, "ort") } : {}),
        };
        const model = source.forProvider ? await source.forProvider(p) : source.model;
        const s = typeof model === "string"
          ? await ort.InferenceSession.create(model, opts)
          : await ort.InferenceSession.create(model, opts);
        const adapter = p === "webgpu" ? await webgpuAdapter() : undefined;
        if (p === "webgpu" && (config.gpu ?? 0) !== 0) {
          log(`-G ${config.gpu} ignored: the WebGPU provider picks its adapter`);
        }
        const session = new OrtSession(s, ort.Tensor, p, label, adapter && describeAdapter(adapter));
        if (p === "cpu") return session;
        // A GPU provider is used only after a small run of the real model has passed on it.
        try {
          const w = config.warmup ?? [32, 32, 32];
          await session.run(new Float32Array(w[0] * w[1] * w[2]), w);
        } catch (e) {
          await session.release().catch(() => {});
          throw e;
        }
        if (profile) {
          s.endProfiling();
          log(`${label}: ${await placementReport(profile, p)}`);
        }
        return session;
      } finally {
        if (profile) await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
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
      if (obstacle) throw new SiamizeError(`-c ${compute}: cannot start: ${obstacle}${providerFix(compute, obstacle)}`);
      try {
        return await open(compute);
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
        throw new SiamizeError(`-c ${compute}: cannot start: ${firstLine(e)}`, 1, { cause: e });
      }
    }
    const missing: string[] = [];
    let passedOver = false; // a hardware GPU provider started, then failed
    for (const p of autoOrder()) {
      let obstacle = providerObstacle(p);
      // A software adapter is no GPU worth mentioning: skipping it is said only with -v.
      if (!obstacle && !config.allowSoftwareAdapter) obstacle = await softwareAdapterObstacle(p);
      if (obstacle) {
        missing.push(`${p}: ${obstacle}`);
        continue;
      }
      try {
        return await open(p);
      } catch (e) {
        if (e instanceof SiamizeError) throw e;
        const why = firstLine(e);
        missing.push(`${p}: ${why}`);
        if (!/no (supported )?adapter/i.test(why)) passedOver = true; // it started, then failed (e.g. its warm-up)
      }
    }
    if (missing.length) (passedOver ? log : config.detail ?? log)(`using CPU (${missing.join("; ")})`);
    return await openCpu();
  },
};
