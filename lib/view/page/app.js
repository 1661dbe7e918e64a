// The siamize view page: NiiVue with the scan and its labels, a legend, hover naming, volumes, and runs.
// Plain ES module served by lib/view/server.ts; every URL is relative, so it carries the server's token.
import { Niivue, SLICE_TYPE } from "@niivue/niivue"; // the page's import map: ./niivue.js
import { setupSamri, worldToVoxel } from "./samri.js";

/** @typedef {{ index: number, name: string, abbreviation: string, color: number[] }} ClassInfo */
/** @typedef {{ name: string, url: string }} Served */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const VIEWS = {
  axial: SLICE_TYPE.AXIAL,
  coronal: SLICE_TYPE.CORONAL,
  sagittal: SLICE_TYPE.SAGITTAL,
  multiplanar: SLICE_TYPE.MULTIPLANAR,
  render: SLICE_TYPE.RENDER,
};

const nv = new Niivue({ backColor: [0, 0, 0, 1], show3Dcrosshair: true, dragAndDropEnabled: false });
/** @type {ClassInfo[]} */
let labelTable = [];
/** @type {any} */
let labelsVolume = null;

/** The label table as NiiVue's label colour map (background transparent). */
function labelColormap(/** @type {ClassInfo[]} */ table) {
  /** @type {{R: number[], G: number[], B: number[], A: number[], I: number[], labels: string[]}} */
  const cm = { R: [], G: [], B: [], A: [], I: [], labels: [] };
  for (const c of table) {
    cm.I.push(c.index);
    cm.R.push(c.color[0]);
    cm.G.push(c.color[1]);
    cm.B.push(c.color[2]);
    cm.A.push(c.index === 0 ? 0 : 255);
    cm.labels.push(c.name);
  }
  return cm;
}

function opacity() {
  return Number(/** @type {HTMLInputElement} */ ($("opacity")).value);
}

/** Shows the labels at `served` over the scan, with `table`'s names and colours. */
async function showLabels(/** @type {Served} */ served, /** @type {ClassInfo[]} */ table) {
  labelTable = table;
  if (labelsVolume) nv.removeVolume(labelsVolume);
  labelsVolume = await nv.addVolumeFromUrl({ url: served.url, name: served.name, opacity: opacity() });
  labelsVolume.setColormapLabel(labelColormap(table));
  nv.updateGLVolume();
  legend(table);
}

function legend(/** @type {ClassInfo[]} */ table) {
  const ul = $("legend");
  ul.replaceChildren();
  for (const c of table) {
    if (c.index === 0) continue;
    const li = document.createElement("li");
    const sw = document.createElement("i");
    sw.style.background = `rgb(${c.color[0]},${c.color[1]},${c.color[2]})`;
    li.append(sw, `${c.index} ${c.name} (${c.abbreviation})`);
    ul.append(li);
  }
}

/** The volumes table: one row per class with its mL, and TIV. */
function volumes(/** @type {Record<string, number | string> | undefined} */ row) {
  const body = /** @type {HTMLTableElement} */ ($("volumes")).tBodies[0];
  body.replaceChildren();
  if (!row) return;
  for (const [k, v] of Object.entries(row)) {
    if (k === "input") continue;
    const c = labelTable.find((x) => `${x.abbreviation}_ml` === k);
    const tr = body.insertRow();
    tr.insertCell().textContent = k === "tiv_ml" ? "TIV" : c ? c.name : k;
    tr.insertCell().textContent = Number(v).toFixed(2);
  }
}

function setView(/** @type {keyof typeof VIEWS} */ name) {
  nv.setSliceType(VIEWS[name]);
  for (const b of document.querySelectorAll("#views button")) {
    b.classList.toggle("on", /** @type {HTMLElement} */ (b).dataset.view === name);
  }
}

/** The class at a label value, named for the header. */
function className(/** @type {number | undefined} */ v) {
  const c = v === undefined ? undefined : labelTable.find((x) => x.index === Math.round(v));
  return c ? `${c.name} (${c.index})` : "";
}

/** The value of `vol` (a NiiVue image) at world point `mm`: the nearest voxel through its header's affine. */
function labelAt(/** @type {any} */ vol, /** @type {number[]} */ mm) {
  const ijk = worldToVoxel(vol, mm).map(Math.round);
  const dims = vol.hdr.dims;
  if (ijk.some((x, k) => x < 0 || x >= dims[k + 1])) return undefined;
  return vol.img[ijk[0] + dims[1] * (ijk[1] + dims[2] * ijk[2])];
}

/** Where the cursor was last over a slice: world mm and the label value there (tests read it). */
let hovered = /** @type {{ mm: number[], value: number } | null} */ (null);

/** The class under the cursor, named in the header (hover), and at the crosshair (click). */
function hover(/** @type {MouseEvent} */ ev) {
  if (!labelsVolume) return;
  const canvas = /** @type {HTMLCanvasElement} */ ($("gl"));
  const r = canvas.getBoundingClientRect();
  const dpr = nv.uiData?.dpr ?? globalThis.devicePixelRatio ?? 1;
  const frac = nv.canvasPos2frac([(ev.clientX - r.left) * dpr, (ev.clientY - r.top) * dpr]);
  if (!frac || frac[0] < 0) {
    hovered = null;
    $("hover").textContent = "";
    return;
  }
  const mm = Array.from(nv.frac2mm(frac, 0)).slice(0, 3);
  const value = labelAt(labelsVolume, mm);
  hovered = { mm, value };
  $("hover").textContent = className(value);
}

nv.onLocationChange = (/** @type {any} */ data) => {
  if (labelsVolume) $("hover").textContent = className(data.values?.[1]?.value);
};

function downloads(/** @type {Record<string, string>} */ files) {
  const names = { labels: "labels", tpm: "probability map", tsv: "labels.tsv", volumes: "volumes", qc: "QC picture" };
  const ul = $("downloads");
  ul.replaceChildren();
  for (const [k, url] of Object.entries(files)) {
    const a = document.createElement("a");
    a.href = url;
    a.download = decodeURIComponent(url.split("/").pop() ?? k);
    a.textContent = /** @type {Record<string, string>} */ (names)[k] ?? k;
    a.dataset.kind = k;
    const li = document.createElement("li");
    li.append(a);
    ul.append(li);
  }
}

function running(/** @type {boolean} */ on) {
  /** @type {HTMLButtonElement} */ ($("start")).disabled = on;
  /** @type {HTMLButtonElement} */ ($("cancel")).disabled = !on;
}

/** The run events from the server (stage, tile, done, error, cancelled). */
function listen() {
  const es = new EventSource("api/events");
  const bar = /** @type {HTMLProgressElement} */ ($("progress"));
  es.onmessage = async (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "start") {
      running(true);
      $("error").textContent = "";
      $("status").textContent = `run ${e.run}: ${e.card}`;
      bar.value = 0;
    } else if (e.type === "stage") {
      $("status").textContent = e.text;
    } else if (e.type === "tile") {
      bar.value = (e.fold * e.tiles + e.tile) / (e.folds * e.tiles);
      $("status").textContent = `inference: fold ${e.fold + 1}/${e.folds} tile ${e.tile}/${e.tiles}`;
    } else if (e.type === "download") {
      $("status").textContent = `downloading ${e.name ?? "weights"}`;
    } else if (e.type === "done") {
      bar.value = 1;
      await showLabels({ url: e.files.labels, name: "labels.nii.gz" }, e.labelTable);
      volumes(e.volumes);
      downloads(e.files);
      $("status").textContent = `run ${e.run} done (${e.provider}, ${e.seconds.toFixed(1)} s)`;
      view.runs.push(e.run);
      running(false);
    } else if (e.type === "error" || e.type === "cancelled") {
      $("error").textContent = e.line;
      $("status").textContent = e.type === "cancelled" ? "cancelled" : "failed";
      running(false);
    }
  };
  return new Promise((resolve) => es.onopen = resolve);
}

/** Shows what the server has open: the scan, its labels (names and colours from `state.labelTable`), volumes. */
async function showState(/** @type {any} */ state) {
  labelTable = state.labelTable;
  legend(labelTable);
  for (const v of [...nv.volumes].reverse()) nv.removeVolume(v);
  labelsVolume = null;
  $("scan-name").textContent = state.scan ? state.scan.name : "no scan";
  if (state.scan) await nv.loadVolumes([{ url: state.scan.url, name: state.scan.name }]);
  if (state.labels) await showLabels(state.labels, state.labelTable);
  volumes(state.volumes);
}

/** Uploads a file chosen or dropped on the page as the scan or its labels; a refused one shows the CLI's line. */
async function upload(/** @type {File} */ file, /** @type {"scan" | "labels"} */ kind) {
  $("open-error").textContent = "";
  const r = await fetch(`api/open?kind=${kind}&name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
  const body = await r.json();
  if (!r.ok) {
    $("open-error").textContent = body.error;
    return;
  }
  if (kind === "scan") $("downloads").replaceChildren();
  await showState(await (await fetch("api/state")).json());
  view.opened.push(body.opened.name);
}

async function startRun(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  const val = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id)).value;
  const body = {
    card: val("card"),
    models: val("models"),
    patch: val("patch"),
    spacing: val("spacing"),
    compute: val("compute"),
    tpm: /** @type {HTMLInputElement} */ ($("tpm")).checked,
  };
  $("error").textContent = "";
  const r = await fetch("api/run", { method: "POST", body: JSON.stringify(body) });
  if (!r.ok) $("error").textContent = (await r.json()).error;
}

const view = {
  nv,
  /** Numbers of the runs whose labels are shown (the last one on top). */
  runs: /** @type {number[]} */ ([]),
  /** Names of the files opened from the page, in order (tests). */
  opened: /** @type {string[]} */ ([]),
  /** The labels NiiVue holds, as plain numbers (tests). */
  labels: () => (labelsVolume ? Array.from(labelsVolume.img) : null),
  setView,
  /** Where the cursor was last over a slice (world mm) and the label value there. */
  hovered: () => hovered,
  /** The label table in use. */
  labelTable: () => labelTable,
  /** Milliseconds since navigation when each start-up step ended (diagnostics). */
  timings: /** @type {Record<string, number>} */ ({ module: performance.now() }),
  ready: (async () => {
    await nv.attachTo("gl");
    view.timings.attached = performance.now();
    const state = await (await fetch("api/state")).json();
    const select = /** @type {HTMLSelectElement} */ ($("card"));
    for (const c of state.cards) select.add(new Option(c, c, c === state.card, c === state.card));
    view.timings.state = performance.now();
    await showState(state);
    view.timings.shown = performance.now();
    $("opacity").addEventListener(
      "input",
      () => labelsVolume && nv.setOpacity(nv.volumes.indexOf(labelsVolume), opacity()),
    );
    for (const b of document.querySelectorAll("#views button")) {
      b.addEventListener("click", () => setView(/** @type {any} */ (/** @type {HTMLElement} */ (b).dataset.view)));
    }
    $("gl").addEventListener("mousemove", hover);
    setupSamri(nv, $, view);
    for (const kind of /** @type {const} */ (["scan", "labels"])) {
      const input = /** @type {HTMLInputElement} */ ($(`open-${kind}`));
      input.addEventListener("change", () => input.files?.[0] && upload(input.files[0], kind));
    }
    const viewer = $("viewer");
    viewer.addEventListener("dragover", (e) => {
      e.preventDefault();
      viewer.classList.add("drop");
    });
    viewer.addEventListener("dragleave", () => viewer.classList.remove("drop"));
    viewer.addEventListener("drop", (e) => {
      e.preventDefault();
      viewer.classList.remove("drop");
      const f = e.dataTransfer?.files[0];
      // A drop opens a scan, or its labels when a scan is open and the shift key is held.
      if (f) upload(f, e.shiftKey && nv.volumes.length ? "labels" : "scan");
    });
    $("run-form").addEventListener("submit", startRun);
    $("cancel").addEventListener("click", () => fetch("api/cancel", { method: "POST" }));
    setView("multiplanar");
    await listen();
    return true;
  })(),
};
/** @type {any} */ (globalThis).siamizeView = view;
