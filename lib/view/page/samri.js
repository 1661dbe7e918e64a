// SAMRI by mouse on the siamize view page: a box (drag) and points (click; shift: negative) on the current 2-D
// slice, sent to the server's Prompter (lib/view/samri.ts); the mask comes back on the scan's grid and NiiVue
// overlays it. Undo, clear, accept into a label layer, propagate, save.

/** @typedef {{ x: number, y: number, label: 0 | 1 }} Point */
/** @typedef {{ axis: number, index: number, box?: number[], points: Point[] }} PromptState */

/** World axis normal to each 2-D view (NiiVue's slice types 0 axial, 1 coronal, 2 sagittal). */
const NORMAL = [2, 1, 0];

/** The voxel (stored array indices, fractional) of `vol` (a NiiVue image) at world point `mm`. */
export function worldToVoxel(/** @type {any} */ vol, /** @type {number[]} */ mm) {
  const a = vol.hdr.affine;
  const m = [0, 1, 2].map((r) => [a[r][0], a[r][1], a[r][2]]);
  const b = [0, 1, 2].map((r) => mm[r] - a[r][3]);
  const det = (/** @type {number[][]} */ q) =>
    q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) - q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) +
    q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0]);
  const d = det(m);
  return [0, 1, 2].map((c) => det(m.map((row, r) => row.map((x, k) => (k === c ? b[r] : x)))) / d);
}

/** The stored axis of `vol` closest to world axis `w` (the one a 2-D view holds fixed). */
function storedAxis(/** @type {any} */ vol, /** @type {number} */ w) {
  const a = vol.hdr.affine;
  let best = 0, bestCos = -1;
  for (let k = 0; k < 3; k++) {
    const n = Math.hypot(a[0][k], a[1][k], a[2][k]);
    const c = Math.abs(a[w][k]) / n;
    if (c > bestCos) [best, bestCos] = [k, c];
  }
  return best;
}

/**
 * Sets up SAMRI on the page. `nv` is the Niivue instance, `$` gets elements by id, `view` is the page's test handle.
 */
export function setupSamri(/** @type {any} */ nv, /** @type {(id: string) => any} */ $, /** @type {any} */ view) {
  const layer = /** @type {HTMLCanvasElement} */ ($("prompt-layer"));
  const gl = /** @type {HTMLCanvasElement} */ ($("gl"));
  /** @type {PromptState | null} */
  let state = null;
  /** @type {PromptState[]} */
  const history = [];
  /** @type {any} */
  let maskVolume = null;
  const samri = { last: /** @type {any} */ (null), busy: false };
  view.samri = samri;

  /** Slice coordinates under a mouse event: the stored axis, index, column x and row y; null off the slices. */
  function at(/** @type {MouseEvent} */ ev) {
    const vol = nv.volumes[0];
    if (!vol) return null;
    const r = gl.getBoundingClientRect();
    const dpr = nv.uiData?.dpr ?? globalThis.devicePixelRatio ?? 1;
    const frac = nv.canvasPos2frac([(ev.clientX - r.left) * dpr, (ev.clientY - r.top) * dpr]);
    if (!frac || frac[0] < 0) return null;
    const ijk = worldToVoxel(vol, Array.from(nv.frac2mm(frac, 0)).slice(0, 3)).map(Math.round);
    const axis = storedAxis(vol, NORMAL[nv.opts.sliceType] ?? 2);
    const rest = [0, 1, 2].filter((k) => k !== axis);
    const dims = vol.hdr.dims;
    const clamp = (/** @type {number} */ v, /** @type {number} */ k) => Math.max(0, Math.min(dims[k + 1] - 1, v));
    return { axis, index: clamp(ijk[axis], axis), x: clamp(ijk[rest[1]], rest[1]), y: clamp(ijk[rest[0]], rest[0]) };
  }

  async function post(/** @type {string} */ route, /** @type {any} */ body) {
    const r = await fetch(`api/samri/${route}`, { method: "POST", body: JSON.stringify(body ?? {}) });
    const got = await r.json();
    if (!r.ok) throw new Error(got.error);
    return got;
  }

  async function showMask(/** @type {string | null} */ url) {
    if (maskVolume) nv.removeVolume(maskVolume);
    maskVolume = null;
    if (url) {
      maskVolume = await nv.addVolumeFromUrl({ url, name: "samri_mask.nii.gz", colormap: "red", opacity: 0.6 });
      maskVolume.cal_min = 0.5;
      maskVolume.cal_max = 1;
      nv.updateGLVolume();
    }
  }

  /** Sends the current prompt (or a propagation) and shows its mask. */
  async function send(propagate = false) {
    if (!state) return;
    $("samri-error").textContent = "";
    const request = {
      models: $("samri-models").value,
      axis: state.axis,
      index: state.index,
      box: state.box,
      points: state.points,
      propagate,
    };
    samri.busy = true;
    $("samri-status").textContent = propagate ? "propagating…" : `slice ${state.axis}:${state.index}: segmenting…`;
    try {
      const result = await post("prompt", request);
      await showMask(result.url);
      samri.last = { request, result };
      $("samri-status").textContent = `slice ${state.axis}:${state.index}: ${result.pixels} pixels${
        result.encoded ? "" : " (decoder only)"
      }${result.slices ? `, ${result.slices.length} slices` : ""}`;
    } catch (e) {
      $("samri-error").textContent = String(/** @type {Error} */ (e).message);
      samri.last = { request, error: String(/** @type {Error} */ (e).message) };
    } finally {
      samri.busy = false;
    }
  }

  /** Adds a box or a point to the prompt of this slice (a new slice starts a new prompt). */
  function add(/** @type {any} */ a, /** @type {any} */ b, /** @type {boolean} */ negative) {
    if (!state || state.axis !== a.axis || state.index !== a.index) {
      state = { axis: a.axis, index: a.index, points: [] };
    }
    history.push(structuredClone(state));
    if (b) state.box = [Math.min(a.x, b.x), Math.min(a.y, b.y), Math.max(a.x, b.x), Math.max(a.y, b.y)];
    else state.points = [...state.points, { x: a.x, y: a.y, label: negative ? 0 : 1 }];
    return send();
  }

  /** @type {{ x: number, y: number, ev: MouseEvent } | null} */
  let down = null;
  const ctx = /** @type {CanvasRenderingContext2D} */ (layer.getContext("2d"));
  layer.addEventListener("mousedown", (ev) => {
    down = { x: ev.offsetX, y: ev.offsetY, ev };
  });
  layer.addEventListener("mousemove", (ev) => {
    if (!down) return;
    layer.width = layer.clientWidth;
    layer.height = layer.clientHeight;
    ctx.strokeStyle = "#ff0";
    ctx.strokeRect(down.x, down.y, ev.offsetX - down.x, ev.offsetY - down.y);
  });
  layer.addEventListener("mouseup", (ev) => {
    if (!down) return;
    const start = down;
    down = null;
    ctx.clearRect(0, 0, layer.width, layer.height);
    const a = at(start.ev), b = at(ev);
    if (!a || !b) return;
    const dragged = Math.hypot(ev.offsetX - start.x, ev.offsetY - start.y) > 4;
    add(dragged ? a : b, dragged && b.axis === a.axis && b.index === a.index ? b : null, ev.shiftKey);
  });

  $("samri-on").addEventListener("change", () => {
    const on = $("samri-on").checked;
    layer.classList.toggle("on", on);
    if (on && nv.opts.sliceType > 2) view.setView("axial");
  });
  $("samri-undo").addEventListener("click", async () => {
    state = history.pop() ?? null;
    if (state && (state.box || state.points.length)) await send();
    else await showMask(null);
  });
  $("samri-clear").addEventListener("click", async () => {
    state = null;
    history.length = 0;
    await showMask(null);
    $("samri-save").hidden = true;
    await post("clear");
  });
  $("samri-accept").addEventListener("click", async () => {
    try {
      const { url } = await post("accept");
      $("samri-save").href = url;
      $("samri-save").hidden = false;
      $("samri-status").textContent = "accepted into the label layer";
    } catch (e) {
      $("samri-error").textContent = String(/** @type {Error} */ (e).message);
    }
  });
  $("samri-propagate").addEventListener("click", () => send(true));
}
