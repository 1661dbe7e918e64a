/**
 * The page's SAMRI section (part of `app.js`, set up by `main.ts`): pick a
 * scan (a 2-D image, or a 3-D NIfTI and a slice), the encoder and the
 * decoder; the slice is drawn, a box dragged on it (or points clicked, or
 * either typed) is segmented by {@linkcode PromptTab}, the mask drawn over
 * the slice and offered as a NIfTI download on the scan's grid. The
 * embedding stays in the page: a further prompt on the slice runs the
 * decoder only.
 *
 * `window.siamizePrompt` holds the last prompt's summary (for tests and the
 * curious): the prompt, the encoder and decoder runs so far, the providers,
 * the seconds of each network, the memory plan, the mask as the NIfTI the
 * page offers.
 *
 * @module
 */
import type { OrtWebModule } from "../../engine/_onnxruntime_web.ts";
import { ortWebGraphOpener } from "../../engine/ort_web.ts";
import type { Compute } from "../../core/types.ts";
import type { Prompt } from "../../prompt/prompts.ts";
import type { U8Image } from "../../prompt/pillow_resize.ts";
import { toUint8 } from "../../prompt/preprocess.ts";
import type { Slice2D } from "../../prompt/preprocess.ts";
import { PromptTab, type PromptTabResult } from "../prompt_tab.ts";
import type { PickedFile } from "../segment_tab.ts";

/** What the SAMRI section needs from the page. */
export interface PromptPageContext {
  /** Loads onnxruntime-web (once). */
  loadOrt(): Promise<OrtWebModule>;
  /** The folder URL of ORT's WASM files. */
  wasmPaths: string;
  /** WASM threads. */
  threads: number;
  /** The WASM heap ONNX Runtime holds now, bytes. */
  wasmHeap(): number;
}

/** The DOM shapes used here (Deno's type check has no DOM library). */
interface El {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  hidden: boolean;
  value: string;
  files: ArrayLike<File> | null;
  href: string;
  download: string;
  width: number;
  height: number;
  style: Record<string, string>;
  addEventListener(type: string, f: (e: PointerLike) => void): void;
  getBoundingClientRect(): { left: number; top: number; width: number; height: number };
  getContext(kind: "2d"): Ctx;
}
interface PointerLike {
  clientX: number;
  clientY: number;
  shiftKey: boolean;
}
interface Ctx {
  createImageData(w: number, h: number): { data: Uint8ClampedArray };
  putImageData(img: { data: Uint8ClampedArray }, x: number, y: number): void;
  strokeStyle: string;
  lineWidth: number;
  strokeRect(x: number, y: number, w: number, h: number): void;
  fillStyle: string;
  fillRect(x: number, y: number, w: number, h: number): void;
}

const document = (globalThis as unknown as { document: { getElementById(id: string): unknown } }).document;
const $ = (id: string) => document.getElementById(id) as El;

/** Parses the points field: `x y [label]` separated by `;`. */
export function parsePoints(text: string): { x: number; y: number; label?: 0 | 1 }[] {
  return text.split(";").map((p) => p.trim()).filter((p) => p).map((p) => {
    const v = p.split(/[\s,]+/).map(Number);
    if (
      v.length < 2 || v.length > 3 || v.some((n) => !Number.isFinite(n)) || (v.length === 3 && v[2] !== 0 && v[2] !== 1)
    ) {
      throw new Error(`points: "${p}" is not "x y" or "x y 0|1"`);
    }
    return v.length === 3 ? { x: v[0], y: v[1], label: v[2] as 0 | 1 } : { x: v[0], y: v[1] };
  });
}

/** Parses the box field: four numbers, or empty (no box). */
export function parseBox(text: string): [number, number, number, number] | undefined {
  if (!text.trim()) return undefined;
  const v = text.trim().split(/[\s,]+/).map(Number);
  if (v.length !== 4 || v.some((n) => !Number.isFinite(n))) throw new Error(`box: "${text}" is not "X1 Y1 X2 Y2"`);
  return v as [number, number, number, number];
}

async function pick(id: string): Promise<PickedFile | undefined> {
  const f = $(id).files?.[0];
  return f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : undefined;
}

/** Wires the SAMRI section of the page. */
export function setUpPromptPage(ctx: PromptPageContext): void {
  const status = $("p-status"), canvas = $("p-canvas");
  const log = (s: string) => $("p-log").textContent += s + "\n";
  let tab: PromptTab | undefined;
  let models = "";
  let slice: Slice2D | U8Image | undefined;
  let last: PromptTabResult | undefined;
  const fail = (e: unknown) => {
    status.dataset.state = "failed";
    status.textContent = `failed: ${(e as Error).message}`;
    log(`error: ${(e as Error).message}`);
  };

  /** Draws the slice, the mask over it (red) and the prompt. */
  const draw = (prompt?: Prompt) => {
    if (!slice) return;
    const { width: W, height: H } = slice;
    canvas.width = W;
    canvas.height = H;
    const scale = Math.max(1, Math.floor(512 / Math.max(W, H)));
    canvas.style.width = `${W * scale}px`;
    canvas.style.height = `${H * scale}px`;
    const c = canvas.getContext("2d");
    const img = c.createImageData(W, H);
    const grey = "channels" in slice ? undefined : toUint8(slice.data);
    for (let i = 0; i < W * H; i++) {
      for (let k = 0; k < 3; k++) img.data[4 * i + k] = grey ? grey[i] : (slice as U8Image).data[3 * i + k];
      img.data[4 * i + 3] = 255;
      if (last?.mask[i]) {
        img.data[4 * i] = Math.round(0.5 * img.data[4 * i] + 127);
        img.data[4 * i + 1] = Math.round(0.5 * img.data[4 * i + 1]);
        img.data[4 * i + 2] = Math.round(0.5 * img.data[4 * i + 2]);
      }
    }
    c.putImageData(img, 0, 0);
    if (prompt?.box) {
      const [x1, y1, x2, y2] = prompt.box;
      c.strokeStyle = "#0f0";
      c.lineWidth = 1;
      c.strokeRect(x1 + 0.5, y1 + 0.5, x2 - x1, y2 - y1);
    }
    for (const p of prompt?.points ?? []) {
      c.fillStyle = p.label === 0 ? "#f0f" : "#0ff";
      c.fillRect(p.x - 1, p.y - 1, 3, 3);
    }
  };

  const load = async () => {
    status.dataset.state = "running";
    status.textContent = "reading…";
    $("p-log").textContent = "";
    try {
      const [scan, enc, dec] = [await pick("p-scan"), await pick("p-encoder"), await pick("p-decoder")];
      if (!scan) throw new Error("pick a scan");
      if (!enc || !dec) throw new Error("pick the encoder and the decoder (ONNX)");
      const key = [enc.name, enc.bytes.length, dec.name, dec.bytes.length, $("p-compute").value].join("|");
      if (!tab || key !== models) {
        await tab?.close();
        tab = undefined;
        const ort = await ctx.loadOrt();
        const open = ortWebGraphOpener(ort, { wasmPaths: ctx.wasmPaths, numThreads: ctx.threads }, log);
        tab = await PromptTab.open(enc, dec, { open, encoderCompute: $("p-compute").value as Compute });
        models = key;
      }
      const index = $("p-index").value.trim();
      const ref = index ? { axis: Number($("p-axis").value), index: Number(index) } : undefined;
      if (ref && !Number.isInteger(ref.index)) throw new Error(`slice index "${index}" is not a whole number`);
      const input = await tab.load(scan, ref);
      slice = input.slice;
      last = undefined;
      draw();
      log(`${scan.name}: ${ref ? `slice ${ref.axis}:${ref.index}, ` : ""}${slice.width}x${slice.height} pixels`);
      status.dataset.state = "loaded";
      status.textContent = "draw a box or click points";
    } catch (e) {
      fail(e);
    }
  };

  const predict = async () => {
    if (!tab || !slice) return fail(new Error("press Show slice first"));
    status.dataset.state = "running";
    status.textContent = "segmenting…";
    try {
      const prompt: Prompt = { box: parseBox($("p-box").value) };
      const points = parsePoints($("p-points").value);
      if (points.length) prompt.points = points;
      const r = await tab.predict(prompt);
      last = r;
      draw(prompt);
      const bytes = await tab.maskNifti(r);
      const a = $("p-download");
      a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/gzip" }));
      a.download = (tab.input?.path ?? "scan").replace(/\.(nii(\.gz)?|png)$/i, "") + "_seg_.nii.gz";
      a.hidden = false;
      let n = 0;
      for (const v of r.mask) n += v;
      const pv = tab.providers;
      log(
        `mask: ${n} of ${r.mask.length} pixels, score ${r.score.toFixed(4)}; ` +
          (r.encoded ? `encoder ${r.seconds.encoder.toFixed(2)} s on ${pv.encoder}, ` : "embedding kept, ") +
          `decoder ${r.seconds.decoder.toFixed(3)} s on ${pv.decoder}`,
      );
      (globalThis as Record<string, unknown>).siamizePrompt = {
        prompt,
        encoded: r.encoded,
        encoderRuns: tab.encoderRuns,
        decoderRuns: tab.decoderRuns,
        providers: pv,
        seconds: r.seconds,
        score: r.score,
        pixels: n,
        threads: ctx.threads,
        memory: tab.memory,
        wasmHeap: ctx.wasmHeap(),
        maskNiftiGz: bytes,
      };
      status.dataset.runs = String(tab.decoderRuns);
      status.dataset.state = "done";
      status.textContent = "done";
    } catch (e) {
      fail(e);
    }
  };

  // A drag draws a box, a click a point (shift: outside); pixel = floor(position x size / shown size).
  let start: [number, number] | undefined;
  const at = (e: PointerLike): [number, number] => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left) * canvas.width / r.width);
    const y = Math.floor((e.clientY - r.top) * canvas.height / r.height);
    return [Math.min(Math.max(x, 0), canvas.width - 1), Math.min(Math.max(y, 0), canvas.height - 1)];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (slice) start = at(e);
  });
  canvas.addEventListener("pointerup", (e) => {
    if (!start || !slice) return;
    const end = at(e), s = start;
    start = undefined;
    if (Math.abs(end[0] - s[0]) + Math.abs(end[1] - s[1]) >= 2) {
      $("p-box").value = [
        Math.min(s[0], end[0]),
        Math.min(s[1], end[1]),
        Math.max(s[0], end[0]),
        Math.max(s[1], end[1]),
      ]
        .join(" ");
    } else {
      const p = `${end[0]} ${end[1]}${e.shiftKey ? " 0" : ""}`;
      $("p-points").value = $("p-points").value.trim() ? `${$("p-points").value.trim()}; ${p}` : p;
    }
    void predict();
  });
  $("p-load").addEventListener("click", () => void load());
  $("p-predict").addEventListener("click", () => void predict());
  status.dataset.state = "ready";
  status.textContent = "pick a scan and the two networks";
}
