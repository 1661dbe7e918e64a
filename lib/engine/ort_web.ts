/**
 * The onnxruntime-web adapter: the same {@linkcode Backend} →
 * {@linkcode NetworkSession} interface as the onnxruntime-node one
 * (`ort.ts`), for a browser tab. It takes the loaded `onnxruntime-web`
 * module (the page imports `ort.webgpu.min.mjs` from the site, with the
 * WASM files beside it), so this file imports nothing at run time.
 *
 * Providers: `cpu` is ORT's WASM provider (multi-threaded where the page
 * is cross-origin isolated), `webgpu` the browser's WebGPU; `auto` uses
 * WebGPU when the browser offers an adapter that passes a small warm-up
 * run of the real model, else WASM, saying why. The CPU arena and memory
 * patterns are off (a tab's WASM heap is at most 4 GiB).
 *
 * @module
 */
import type { OrtWebModule } from "./_onnxruntime_web.ts";
import type { Compute, Shape3 } from "../core/types.ts";
import { SiamizeError } from "../core/errors.ts";
import type { Backend, NetworkSession } from "./ort.ts";
import { type OrtLikeSession, OrtSession, type TensorConstructor } from "./ort_session.ts";
import { type GraphOpener, type GraphSession, type OrtGraphLike, wrapGraphSession } from "./graph_session.ts";

export type { OrtWebModule };

/** How the WASM runtime is set up (once, before the first session). */
export interface OrtWebSetup {
  /** Folder (URL, ending in `/`) holding `ort-wasm-simd-threaded.asyncify.{mjs,wasm}`. */
  wasmPaths?: string;
  /** WASM threads (1 where the page is not cross-origin isolated). @default ORT's choice */
  numThreads?: number;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n").map((s) => s.trim()).find((s) => s) ??
    "unknown error";
}

/** ORT's execution-provider name for a provider choice. */
function epName(p: Compute): string {
  if (p === "cpu") return "wasm";
  if (p === "webgpu") return "webgpu";
  throw new SiamizeError(`-c ${p}: not available in a browser (cpu or webgpu)`, 64);
}

/** Sets up the WASM runtime (files, threads, quiet logs); returns the module's `Tensor`. */
function setUp(ort: OrtWebModule, setup: OrtWebSetup): TensorConstructor {
  if (setup.wasmPaths) ort.env.wasm.wasmPaths = setup.wasmPaths;
  if (setup.numThreads) ort.env.wasm.numThreads = setup.numThreads;
  ort.env.logLevel = "error";
  return ort.Tensor as unknown as TensorConstructor;
}

/**
 * Opens multi-input networks (SAM's encoder and decoder) on onnxruntime-web
 * as {@linkcode GraphSession}s, the browser's counterpart of `openGraph`
 * (`ort_graph.ts`). `cpu` is WASM, `webgpu` the browser's WebGPU; `auto`
 * tries WebGPU where the browser offers it (the session must load there),
 * else WASM, and says why through `log`.
 */
export function ortWebGraphOpener(
  ort: OrtWebModule,
  setup: OrtWebSetup = {},
  log: (message: string) => void = () => {},
): GraphOpener {
  const Tensor = setUp(ort, setup);
  return async (model, label, config = {}): Promise<GraphSession> => {
    if (typeof model === "string") throw new SiamizeError(`${label}: a browser takes model bytes, not a path`, 64);
    const open = async (p: Compute) => {
      const s = await ort.InferenceSession.create(model, {
        executionProviders: [epName(p)],
        graphOptimizationLevel: "all",
        enableCpuMemArena: false,
        enableMemPattern: false,
        executionMode: "sequential",
        logSeverityLevel: 3,
      });
      return wrapGraphSession(s as unknown as OrtGraphLike, Tensor, p, label);
    };
    const fail = (p: Compute, e: unknown): never => {
      if (e instanceof SiamizeError) throw e;
      throw new SiamizeError(`${label}: cannot load model on ${epName(p)} (${firstLine(e)})`, 65, { cause: e });
    };
    const compute = config.compute ?? "auto";
    if (compute === "auto") {
      if ((globalThis.navigator as { gpu?: unknown } | undefined)?.gpu) {
        try {
          return await open("webgpu");
        } catch (e) {
          log(`${label}: using WASM (webgpu: ${firstLine(e)})`);
        }
      } else log(`${label}: using WASM (this browser offers no WebGPU)`);
    }
    const p: Compute = compute === "auto" ? "cpu" : compute;
    try {
      return await open(p);
    } catch (e) {
      return fail(p, e);
    }
  };
}

/** The onnxruntime-web backend over a loaded `onnxruntime-web` module. */
export function ortWebBackend(ort: OrtWebModule, setup: OrtWebSetup = {}): Backend {
  const Tensor = setUp(ort, setup);
  return {
    async create(source, config) {
      const label = source.label;
      const log = config.log ?? (() => {});
      const open = async (p: Compute): Promise<NetworkSession> => {
        const model = source.forProvider ? await source.forProvider(p) : source.model;
        if (typeof model === "string") throw new SiamizeError(`${label}: a browser takes model bytes, not a path`, 64);
        const s = await ort.InferenceSession.create(model, {
          executionProviders: [epName(p)],
          graphOptimizationLevel: config.graphOptimization ?? "all",
          enableCpuMemArena: false,
          enableMemPattern: false,
          executionMode: "sequential",
          logSeverityLevel: 3,
        });
        const session = new OrtSession(
          s as unknown as OrtLikeSession,
          Tensor,
          p,
          label,
          p === "webgpu" ? "browser WebGPU" : undefined,
        );
        if (p === "cpu") return session;
        try {
          const w: Shape3 = config.warmup ?? [32, 32, 32];
          await session.run(new Float32Array(w[0] * w[1] * w[2] * (session.inputChannels ?? 1)), w);
        } catch (e) {
          await session.release().catch(() => {});
          throw e;
        }
        return session;
      };
      const compute = config.compute ?? "auto";
      const fail = (p: Compute, e: unknown): never => {
        if (e instanceof SiamizeError) throw e;
        throw new SiamizeError(`${label}: cannot load model on ${epName(p)} (${firstLine(e)})`, 65, { cause: e });
      };
      if (compute !== "auto") {
        try {
          return await open(compute);
        } catch (e) {
          return fail(compute, e);
        }
      }
      const gpu = (globalThis.navigator as { gpu?: unknown } | undefined)?.gpu;
      if (gpu) {
        try {
          return await open("webgpu");
        } catch (e) {
          log(`using WASM (webgpu: ${firstLine(e)})`);
        }
      } else (config.detail ?? log)("using WASM (this browser offers no WebGPU)");
      try {
        return await open("cpu");
      } catch (e) {
        return fail("cpu", e);
      }
    },
  };
}
