/**
 * Helpers of the browser-build tests: a head-sized generated scan, a built
 * site served on 127.0.0.1, and a run of the page in headless Chromium
 * with files picked from disk (puppeteer's file chooser, as a user would).
 *
 * @module
 */
import type { Browser } from "puppeteer-core";
import { join } from "../../lib/core/_std.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { writeNifti } from "../../lib/io/nifti.ts";
import { buildSite, serveSite, type SiteServer } from "../../lib/web/site.ts";

/** Grid of {@linkcode writeHeadScan} (x, y, z) at 1.2 mm: 160x192x168 mm, a head's extent. */
export const HEAD_DIMS: [number, number, number] = [134, 160, 140];

/**
 * A head-sized int16 scan: an ellipsoid "skull" shell, a textured "brain"
 * and two darker "ventricles", 1.2 mm voxels, oblique-free RAS affine.
 */
export async function writeHeadScan(path: string): Promise<void> {
  const [nx, ny, nz] = HEAD_DIMS;
  const data = new Int16Array(nx * ny * nz);
  const c = [nx / 2, ny / 2, nz / 2], r = [nx * 0.42, ny * 0.44, nz * 0.42];
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const d = Math.hypot((x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2]);
        if (d >= 1) continue;
        const vent = Math.hypot((Math.abs(x - c[0]) - 8) / 5, (y - c[1]) / 16, (z - c[2] - 6) / 8) < 1;
        const v = d > 0.88 ? 900 : vent ? 250 : 500 + 120 * Math.sin(x / 3) * Math.cos(y / 4) + 60 * Math.sin(z / 2);
        data[x + nx * (y + ny * z)] = Math.round(v);
      }
    }
  }
  const s = 1.2;
  await writeNifti(
    path,
    makeVolume(data, [nx, ny, nz], [[s, 0, 0, -80], [0, s, 0, -96], [0, 0, s, -84], [0, 0, 0, 1]]),
  );
}

/** Grid of {@linkcode writeBratsScans} (x, y, z) at 1 mm: small, so the whole-volume HNOSeg-XS runs in seconds. */
export const BRATS_DIMS: [number, number, number] = [40, 48, 36];

/**
 * Four float32 BraTS-like channels (t1c, t1n, t2f, t2w) on one 1 mm grid: a
 * "brain" ellipsoid with a "tumour" whose contrast differs per channel, and
 * a texture; written as `<dir>/sub_<channel>.nii.gz`, returned in the card's
 * channel order.
 */
export async function writeBratsScans(dir: string, dims = BRATS_DIMS): Promise<string[]> {
  const [nx, ny, nz] = dims;
  const out: string[] = [];
  for (const [c, name] of ["t1c", "t1n", "t2f", "t2w"].entries()) {
    const data = new Float32Array(nx * ny * nz);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const d = Math.hypot((x - nx / 2) / (nx * 0.42), (y - ny / 2) / (ny * 0.44), (z - nz / 2) / (nz * 0.42));
          if (d >= 1) continue;
          const t = Math.hypot(x - nx * 0.6, y - ny * 0.45, z - nz * 0.5) < 7;
          data[x + nx * (y + ny * z)] = (t ? 300 + 150 * c : 200 + 40 * c) +
            30 * Math.sin((x + c) / 3) * Math.cos(y / 4);
        }
      }
    }
    const path = join(dir, `sub_${name}.nii.gz`);
    await writeNifti(path, makeVolume(data, dims, [[1, 0, 0, -20], [0, 1, 0, -24], [0, 0, 1, -18], [0, 0, 0, 1]]));
    out.push(path);
  }
  return out;
}

/** A site built into `dir` (with `cards` added) and served on 127.0.0.1. */
export async function siteServer(dir: string, cards: string[]): Promise<SiteServer> {
  await buildSite(join(dir, "site"), { cards });
  return await serveSite(join(dir, "site"));
}

/** What the page's run leaves in `window.siamizeLast`. */
export interface PageRun {
  state: "done" | "failed";
  message: string;
  provider?: string;
  patch?: number[];
  tiles?: number;
  threads?: number;
  wasmHeap?: number;
  memory?: { wasm: number; arrays: number; wasmLimit: number; arraysLimit: number };
  timings?: Record<string, number>;
  tileSeconds?: number[];
  labels?: Uint8Array;
  /** NiiVue's outcome: the number of volumes shown ("2"), or "failed". */
  viewer?: string;
  /** The name of the scan the page had preselected, if any. */
  preset?: string;
  log: string;
}

/** What to pick and set in the page before pressing "Segment". */
export interface PagePick {
  /** The scan (one-channel cards); none: the page's preselected one (`siamize view --in-browser SCAN`). */
  scan?: string;
  /** One scan per channel field of a multi-channel card (in the card's order; fewer leave the rest empty). */
  channels?: string[];
  models: string[];
  /** Card option index (the site's cards in `cards/index.json` order). */
  card: number;
  patch?: string;
  spacing?: string;
  compute?: "auto" | "cpu" | "webgpu";
}

/** Opens the page, picks the files, runs, and returns the outcome (labels as the NIfTI the page offers). */
export async function runPage(browser: Browser, url: string, pick: PagePick, timeoutMs = 120_000): Promise<PageRun> {
  const page = await browser.newPage();
  try {
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    await page.goto(url);
    await page.waitForFunction(`document.getElementById("status").dataset.state !== "loading"`, { timeout: 30_000 })
      .catch(() => {
        throw new Error(`page did not load: ${errors.join("; ")}`);
      });
    type Upload = { uploadFile(...p: string[]): Promise<void> };
    // The card first: a multi-channel card shows one file field per channel.
    await page.select("#card", String(pick.card));
    if (pick.scan) await (await page.$("#scan") as unknown as Upload).uploadFile(pick.scan);
    for (const [c, path] of (pick.channels ?? []).entries()) {
      await (await page.$(`#scan-${c}`) as unknown as Upload).uploadFile(path);
    }
    await (await page.$("#models") as unknown as Upload).uploadFile(...pick.models);
    await page.select("#compute", pick.compute ?? "cpu");
    if (pick.patch) await page.type("#patch", pick.patch);
    if (pick.spacing) await page.type("#spacing", pick.spacing);
    await page.click("#run");
    await page.waitForFunction(
      `["done", "failed"].includes(document.getElementById("status").dataset.state)`,
      { timeout: timeoutMs },
    );
    // NiiVue shows the scan and the labels after the run.
    await page.waitForFunction(
      `document.getElementById("status").dataset.state !== "done" || document.getElementById("status").dataset.viewer`,
      { timeout: 30_000 },
    );
    const got = await page.evaluate(`(() => {
      const s = document.getElementById("status");
      const l = window.siamizeLast;
      const out = { state: s.dataset.state, message: s.textContent, log: document.getElementById("log").textContent,
        viewer: s.dataset.viewer, preset: s.dataset.preset };
      if (s.dataset.state !== "done") return out;
      return { ...out, provider: l.provider, patch: l.patch, tiles: l.tiles, threads: l.threads, wasmHeap: l.wasmHeap,
        memory: l.memory, timings: l.timings, tileSeconds: l.tileSeconds, labels: Array.from(l.labelsNiftiGz) };
    })()`) as PageRun & { labels?: number[] };
    return { ...got, labels: got.labels ? new Uint8Array(got.labels) : undefined };
  } finally {
    await page.close();
  }
}
