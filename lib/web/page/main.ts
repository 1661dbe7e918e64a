/**
 * The page's script (bundled into `app.js` by `siamize web build`): picks a
 * scan and ONNX models from disk, runs {@linkcode segmentInTab} on
 * onnxruntime-web, shows progress per stage and tile, the scan and labels
 * in NiiVue, and offers the labels as a NIfTI download. Nothing leaves the
 * machine: files are read with `File.arrayBuffer()`, and the page fetches
 * only its own files (the ORT runtime, NiiVue, the cards).
 *
 * The SAMRI section (a 2-D prompt card) is `prompt_page.ts`'s.
 *
 * `window.siamizeLast` holds the last run's summary (for tests and the
 * curious): provider, patch, tiles, timings, the memory plan and the
 * measured WASM heap.
 *
 * @module
 */
import { validateCard } from "../../cards/parse.ts";
import type { ModelCard } from "../../cards/card.ts";
import { ortWebBackend, type OrtWebModule } from "../../engine/ort_web.ts";
import type { Compute } from "../../core/types.ts";
import { labelsNifti, type PickedFile, segmentInTab } from "../segment_tab.ts";
import { setUpPromptPage } from "./prompt_page.ts";

// Every WASM memory ONNX Runtime makes (imported when threaded, exported
// otherwise), so the page can report the heap it really grew to.
const memories: WebAssembly.Memory[] = [];
{
  const Base = WebAssembly.Memory;
  const Tracked = function (this: unknown, d: WebAssembly.MemoryDescriptor) {
    const m = new Base(d);
    memories.push(m);
    return m;
  } as unknown as typeof WebAssembly.Memory;
  Tracked.prototype = Base.prototype;
  (WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = Tracked;
  const grab = (r: unknown) => {
    const inst = (r as { instance?: WebAssembly.Instance }).instance ?? r as WebAssembly.Instance;
    const mem = (inst as WebAssembly.Instance)?.exports?.memory;
    if (mem instanceof Base && !memories.includes(mem)) memories.push(mem);
    return r;
  };
  const inst = WebAssembly.instantiate, stream = WebAssembly.instantiateStreaming;
  (WebAssembly as { instantiate: unknown }).instantiate = (...a: Parameters<typeof inst>) =>
    (inst as (...x: unknown[]) => Promise<unknown>)(...a).then(grab);
  if (stream) {
    (WebAssembly as { instantiateStreaming: unknown }).instantiateStreaming = (
      ...a: Parameters<typeof stream>
    ) => stream(...a).then(grab);
  }
}

/** Bytes of WASM heap ONNX Runtime holds now (its memories only grow: this is also their peak). */
function wasmHeap(): number {
  return memories.reduce((s, m) => s + m.buffer.byteLength, 0);
}

/** The few DOM shapes this page uses (Deno's type check has no DOM library, and adding it clashes with Deno's). */
interface Elem {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  hidden: boolean;
  addEventListener(type: string, f: () => void): void;
}
interface Field extends Elem {
  value: string;
  files: ArrayLike<File> | null;
  add(option: unknown): void;
}
interface Link extends Elem {
  href: string;
  download: string;
}
interface Bar extends Elem {
  max: number;
  value: number;
}
const document = (globalThis as unknown as {
  document: { getElementById(id: string): unknown; createElement(tag: string): Record<string, unknown> };
}).document;
const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
const $ = <T = Elem>(id: string) => document.getElementById(id) as T;
const log = (s: string) => {
  const el = $("log");
  el.textContent += s + "\n";
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

let ortModule: Promise<OrtWebModule> | undefined;
function loadOrt(): Promise<OrtWebModule> {
  return ortModule ??= import(new URL("./ort/ort.webgpu.min.mjs", import.meta.url).href) as Promise<OrtWebModule>;
}

async function cards(): Promise<ModelCard[]> {
  const names = await (await fetch("cards/index.json")).json() as string[];
  return await Promise.all(
    names.map(async (n) => validateCard(await (await fetch(`cards/${n}`)).json(), n)),
  );
}

/**
 * The scans picked for a card: the one scan field for a one-channel card;
 * for a K-channel card the files of its K channel fields, in the card's
 * order (the empty ones left out, so that fewer than K are refused as the
 * CLI refuses them).
 */
async function pickedScans(card: ModelCard): Promise<PickedFile[]> {
  if (card.input.channels === 1) return await picked($<Field>("scan"));
  const out: PickedFile[] = [];
  for (let c = 0; c < card.input.channels; c++) out.push(...await picked($<Field>(`scan-${c}`)));
  return out;
}

/** Shows one labelled file field per channel of a multi-channel card (HNOSeg-XS: t1c, t1n, t2f, t2w), else the one scan field. */
function showChannels(card: ModelCard): void {
  const k = card.input.channels;
  const box = $<Elem & { replaceChildren(...n: unknown[]): void; append(...n: unknown[]): void }>("channels");
  $("scan-one").hidden = k > 1;
  box.hidden = k === 1;
  const legend = document.createElement("legend");
  legend.textContent = `${card.name}: one scan per channel, in the card's order (same grid), or one 4-D scan first`;
  box.replaceChildren(legend);
  for (let c = 0; c < k && k > 1; c++) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "file";
    input.id = `scan-${c}`;
    (label as { append(...n: unknown[]): void }).append(
      `${c + 1}. ${card.input.names?.[c] ?? `channel ${c}`}: `,
      input,
    );
    box.append(label);
  }
}

async function picked(input: Field): Promise<PickedFile[]> {
  return await Promise.all(
    Array.from(input.files ?? []).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
}

/** Shows the scan and the labels in NiiVue; resolves with the number of volumes it loaded. */
async function show(scan: PickedFile, labels: Uint8Array): Promise<number> {
  const { Niivue } = await import(new URL("./niivue.js", import.meta.url).href) as {
    Niivue: new (o: Record<string, unknown>) => {
      attachToCanvas(c: unknown): Promise<unknown>;
      loadVolumes(v: Record<string, unknown>[]): Promise<unknown>;
      volumes: unknown[];
    };
  };
  const nv = new Niivue({ show3Dcrosshair: true, backColor: [0, 0, 0, 1] });
  await nv.attachToCanvas($("viewer"));
  const url = (b: Uint8Array) => URL.createObjectURL(new Blob([b as BlobPart]));
  const scanName = /\.(jnii|bnii)$/i.test(scan.name) ? scan.name : scan.name.replace(/(\.nii)?(\.gz)?$/i, ".nii$2");
  await nv.loadVolumes([
    { url: url(scan.bytes), name: scanName },
    { url: url(labels), name: "labels.nii.gz", colormap: "warm", opacity: 0.5 },
  ]);
  return nv.volumes.length;
}

/**
 * A scan named in the page's address (`?scan=PATH`, on this page's own
 * server: `siamize view --in-browser SCAN` serves it under its token),
 * used when none is picked; undefined without `?scan=`.
 */
async function presetScan(): Promise<PickedFile | undefined> {
  const q = new URL(location.href).searchParams.get("scan");
  if (!q) return undefined;
  const url = new URL(q, location.href);
  if (url.origin !== location.origin) throw new Error(`?scan=${q}: not this page's server`);
  const r = await fetch(url);
  if (!r.ok) throw new Error(`?scan=${q}: HTTP ${r.status}`);
  return { name: decodeURIComponent(url.pathname.split("/").pop()!), bytes: new Uint8Array(await r.arrayBuffer()) };
}
const preset = presetScan();
preset.catch(() => {}); // reported when the page is ready, and by a run that needs it

async function run(all: ModelCard[]): Promise<void> {
  const status = $("status");
  status.dataset.state = "running";
  $("log").textContent = "";
  try {
    const card = all[Number($<Field>("card").value)];
    const scans = await pickedScans(card);
    // A one-channel card runs on the scan siamize view opened when none was picked.
    const opened = !scans.length && card.input.channels === 1 ? await preset : undefined;
    if (opened) scans.push(opened);
    const models = await picked($<Field>("models"));
    const [scan] = scans;
    if (!scan) throw new Error("pick a scan");
    const patchText = $<Field>("patch").value.trim();
    const spacingText = $<Field>("spacing").value.trim();
    const compute = $<Field>("compute").value as Compute;
    const threads = isolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1;
    const ort = await loadOrt();
    const backend = ortWebBackend(ort, { wasmPaths: new URL("./ort/", import.meta.url).href, numThreads: threads });
    log(`WASM threads: ${threads}${isolated ? "" : " (the page is not cross-origin isolated)"}`);
    const tileTimes: number[] = [];
    let last = performance.now();
    const r = await segmentInTab(scans, models, {
      card,
      backend,
      compute,
      patch: patchText || undefined,
      spacing: spacingText ? (Number.isFinite(Number(spacingText)) ? Number(spacingText) : spacingText) : undefined,
      log,
      onStage: (s) => {
        log(`stage: ${s}`);
        last = performance.now();
      },
      onTile: (p) => {
        const t = performance.now();
        tileTimes.push((t - last) / 1000);
        last = t;
        const bar = $<Bar>("progress");
        bar.max = p.tiles * p.folds;
        bar.value = p.fold * p.tiles + p.tile;
        log(`model ${p.fold + 1}/${p.folds} tile ${p.tile}/${p.tiles} (${tileTimes.at(-1)!.toFixed(2)} s)`);
      },
    });
    const bytes = await labelsNifti(r.labels);
    const heap = wasmHeap();
    log(
      `done in ${r.timings.total.toFixed(1)} s on ${r.provider}, patch ${r.patch.join("x")}, ${r.tiles} tiles; ` +
        `WASM heap ${mib(heap)} (planned ≤ ${mib(r.memory.wasm)}, limit ${mib(r.memory.wasmLimit)})`,
    );
    const a = $<Link>("download");
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/gzip" }));
    a.download = scan.name.replace(/\.(nii(\.gz)?|jnii|bnii)$/i, "") + "_seg.nii.gz";
    a.hidden = false;
    (globalThis as Record<string, unknown>).siamizeLast = {
      provider: r.provider,
      patch: r.patch,
      tiles: r.tiles,
      timings: r.timings,
      tileSeconds: tileTimes,
      threads,
      memory: r.memory,
      wasmHeap: heap,
      labelsNiftiGz: bytes,
    };
    status.dataset.state = "done";
    status.textContent = "done";
    // The viewer's outcome, for the curious and the tests: the volumes shown, or "failed".
    status.dataset.viewer = String(
      await show(scan, bytes).catch((e) => (log(`viewer: ${(e as Error).message}`), "failed")),
    );
  } catch (e) {
    status.dataset.state = "failed";
    status.textContent = `failed: ${(e as Error).message}`;
    log(`error: ${(e as Error).message}`);
  }
}

const all = await cards();
const select = $<Field>("card");
all.forEach((c, i) => {
  const o = document.createElement("option");
  o.textContent = `${c.name} ${c.version}`;
  o.value = String(i);
  select.add(o);
});
select.addEventListener("change", () => showChannels(all[Number(select.value)]));
showChannels(all[0]);
$("run").addEventListener("click", () => void run(all));
await preset.then((p) => {
  if (!p) return;
  $("status").dataset.preset = p.name;
  log(`scan: ${p.name} (opened by siamize view; a scan picked above replaces it)`);
}, (e) => log(`error: ${(e as Error).message}`));
setUpPromptPage({
  loadOrt,
  wasmPaths: new URL("./ort/", import.meta.url).href,
  threads: isolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1,
  wasmHeap,
});
$("status").dataset.state = "ready";
