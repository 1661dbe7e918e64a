/**
 * ONNX Runtime sessions for networks with several named inputs and outputs
 * (SAM's prompt decoder, its image encoder) on onnxruntime-node, beside the one-image-in,
 * logits-out {@linkcode NetworkSession} of `ort.ts`. Same session options
 * (threads, arena, optimisation level) and provider names; `auto` runs on
 * the CPU here (the prompt networks have no warm-up tile to try a GPU
 * provider on), an explicit provider is used as asked.
 *
 * @module
 */
import * as ort from "./_onnxruntime.ts";
import { SiamizeError } from "../core/errors.ts";
import type { Compute } from "../core/types.ts";
import { firstLine, providerFix, providerObstacle, providerOption, threadOptions } from "./ort.ts";
import { type GraphConfig, type GraphSession, type OrtGraphLike, wrapGraphSession } from "./graph_session.ts";
import type { TensorConstructor } from "./ort_session.ts";

export type { F32Tensor, GraphConfig, GraphOpener, GraphSession, TensorInfo } from "./graph_session.ts";

/**
 * Opens an ONNX model (bytes or a path) with several inputs. `label` names
 * the model in errors (a model that does not load is exit 65).
 */
export async function openGraph(
  model: string | Uint8Array,
  label: string,
  config: GraphConfig = {},
): Promise<GraphSession> {
  const compute = config.compute ?? "auto";
  const p: Compute = compute === "auto" ? "cpu" : compute;
  if (p !== "cpu") {
    const obstacle = providerObstacle(p);
    if (obstacle) throw new SiamizeError(`-c ${p}: cannot start: ${obstacle}${providerFix(p, obstacle)}`);
  }
  const noArena = config.noArena ?? true;
  const opts: ort.InferenceSession.SessionOptions = {
    ...threadOptions(config.threads),
    graphOptimizationLevel: "all",
    enableCpuMemArena: !noArena,
    enableMemPattern: !noArena,
    logSeverityLevel: p === "cpu" ? 3 : 4,
    executionProviders: [providerOption(p, config.gpu ?? 0)],
  };
  ort.env.logLevel = "error";
  let s: ort.InferenceSession;
  try {
    s = typeof model === "string"
      ? await ort.InferenceSession.create(model, opts)
      : await ort.InferenceSession.create(model, opts);
  } catch (e) {
    if (p !== "cpu") throw new SiamizeError(`-c ${p}: cannot start: ${firstLine(e)}`, 1, { cause: e });
    throw new SiamizeError(`${label}: cannot load model (${firstLine(e)})`, 65, { cause: e });
  }
  return wrapGraphSession(s as unknown as OrtGraphLike, ort.Tensor as unknown as TensorConstructor, p, label);
}
