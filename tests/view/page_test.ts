import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { decodePng } from "../../lib/io/png_decode.ts";
import { startViewServer } from "../../lib/view/server.ts";
import { main } from "../../cli.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { GOLDEN, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";

const missing = chromiumMissing();
const PHANTOM = join(GOLDEN, "phantom.nii.gz");
/** The run both the CLI and the page make: the tiny SIAM-shaped model, a coarse grid, one tile. */
const RUN = { patch: "64x64x64", spacing: "2", compute: "cpu" };

/** The CLI's stderr lines for `argv`, and its exit code. */
async function cli(argv: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (l) => err.push(l), isTty: false });
  return { code, err };
}

/** Variance of a PNG's grey levels (0: one flat colour). */
async function pngVariance(bytes: Uint8Array): Promise<number> {
  const png = await decodePng(bytes, "screenshot");
  const ch = png.channels;
  let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < png.width * png.height; i++) {
    let g = 0;
    for (let c = 0; c < Math.min(ch, 3); c++) g += png.data[i * ch + c];
    g /= Math.min(ch, 3);
    s += g;
    s2 += g * g;
    n++;
  }
  return s2 / n - (s / n) ** 2;
}

/** The label at world point `mm` (nearest voxel through the inverse affine), or undefined outside. */
function labelAtWorld(
  v: { dims: number[]; affine: number[][]; data: ArrayLike<number> },
  mm: number[],
): number | undefined {
  const a = v.affine;
  // Solve a[0:3][0:3] * ijk = mm - a[:,3] (Cramer's rule).
  const m = [0, 1, 2].map((r) => [a[r][0], a[r][1], a[r][2]]);
  const b = [0, 1, 2].map((r) => mm[r] - a[r][3]);
  const det = (q: number[][]) =>
    q[0][0] * (q[1][1] * q[2][2] - q[1][2] * q[2][1]) - q[0][1] * (q[1][0] * q[2][2] - q[1][2] * q[2][0]) +
    q[0][2] * (q[1][0] * q[2][1] - q[1][1] * q[2][0]);
  const d = det(m);
  const ijk = [0, 1, 2].map((c) => Math.round(det(m.map((row, r) => row.map((x, k) => (k === c ? b[r] : x)))) / d));
  if (ijk.some((x, k) => x < 0 || x >= v.dims[k])) return undefined;
  return v.data[ijk[0] + v.dims[0] * (ijk[1] + v.dims[1] * ijk[2])];
}

Deno.test({
  name:
    "view page (Chromium): a run from the page overlays the CLI's labels; each view drawn; a failed run shows the CLI's line",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const model = await tinyModel();
    const cliOut = join(dir.path, "cli.nii.gz");
    const ran = await cli(["-i", PHANTOM, "-o", cliOut, "-M", model, "-P", RUN.patch, "-u", RUN.spacing, "-c", "cpu"]);
    assertEquals(ran.code, 0, ran.err.join("\n"));
    const expected = Array.from((await readNifti(cliOut)).data as ArrayLike<number>);

    const server = await startViewServer({ scan: PHANTOM });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction("globalThis.siamizeView !== undefined", { timeout: 30_000 });
      assertEquals(await page.evaluate("globalThis.siamizeView.ready"), true, errors.join("\n"));
      assertEquals(await page.evaluate("globalThis.siamizeView.nv.volumes.length"), 1);
      assertEquals(await page.$eval("#scan-name", (e) => e.textContent), "phantom.nii.gz");

      // A broken file chosen on the page: the CLI's line for it, naming it as the user did; the scan stays.
      const broken = join(dir.path, "broken.nii");
      await Deno.writeFile(broken, new Uint8Array(400).fill(7));
      const cliBroken = await cli(["-i", broken, "-o", join(dir.path, "y.nii.gz"), "-M", model]);
      assertEquals(cliBroken.err.length, 1);
      const picker = (await page.$("#open-scan"))! as unknown as { uploadFile(p: string): Promise<void> };
      await picker.uploadFile(broken);
      await page.waitForFunction(`document.getElementById("open-error").textContent !== ""`, { timeout: 30_000 });
      assertEquals(
        await page.$eval("#open-error", (e) => e.textContent),
        cliBroken.err[0].replaceAll(broken, "broken.nii"),
      );
      assertEquals(await page.$eval("#scan-name", (e) => e.textContent), "phantom.nii.gz");

      // A failed run: the one line the CLI prints for the same -M.
      const bad = join(dir.path, "missing.onnx");
      const cliBad = await cli(["-i", PHANTOM, "-o", join(dir.path, "x.nii.gz"), "-M", bad, "-P", RUN.patch]);
      assertEquals(cliBad.err.length, 1);
      const fill = async (models: string) => {
        for (const [id, v] of [["models", models], ["patch", RUN.patch], ["spacing", RUN.spacing]]) {
          await page.$eval(`#${id}`, (e, v) => (e as unknown as { value: string }).value = v as string, v);
        }
        await page.select("#compute", RUN.compute);
        await page.click("#start");
      };
      await fill(bad);
      await page.waitForFunction(`document.getElementById("error").textContent !== ""`, { timeout: 30_000 });
      assertEquals(await page.$eval("#error", (e) => e.textContent), cliBad.err[0]);

      // The run: its labels, as NiiVue holds them, equal the CLI's.
      await fill(model);
      await page.waitForFunction("globalThis.siamizeView.runs.length === 1", { timeout: 60_000 });
      assertEquals(await page.$eval("#error", (e) => e.textContent), "", errors.join("\n"));
      assertEquals(await page.evaluate("globalThis.siamizeView.nv.volumes.length"), 2);
      const held = await page.evaluate("globalThis.siamizeView.labels()") as number[];
      assertEquals(held.length, expected.length);
      assert(held.every((v, i) => v === expected[i]), "the page's labels differ from the CLI's");
      assert(new Set(expected).size > 1, "the run gave one class only: nothing to compare");

      // Legend and volumes table: the card's classes.
      const legend = await page.$$eval("#legend li", (l) => l.map((e) => e.textContent));
      assert(legend.some((t) => t?.includes("gray matter")), legend.join(", "));
      const rows = await page.$$eval("#volumes tr", (l) => l.map((e) => e.textContent));
      assert(rows.some((t) => t?.startsWith("TIV")), rows.join(", "));
      // Downloads: every output of the run, served with the token.
      const links = await page.$$eval(
        "#downloads a",
        (l) => l.map((a) => [(a as unknown as { dataset: { kind: string } }).dataset.kind, a.getAttribute("href")]),
      );
      assertEquals(links.map((l) => l[0]).sort(), ["labels", "qc", "tsv", "volumes"]);
      for (const [kind, href] of links) {
        const r = await fetch(new URL(href!, server.url));
        const bytes = new Uint8Array(await r.arrayBuffer());
        assertEquals(r.status, 200, `${kind}`);
        if (kind === "qc") assert((await pngVariance(bytes)) > 0);
        if (kind === "labels") {
          const f = join(dir.path, "downloaded.nii.gz");
          await Deno.writeFile(f, bytes);
          assertEquals(Array.from((await readNifti(f)).data as ArrayLike<number>), expected);
        }
      }

      // Hover: the header names the class under the cursor, the CLI's label at that world point.
      const cliLabels = await readNifti(cliOut);
      await page.evaluate(`globalThis.siamizeView.setView("axial")`);
      await new Promise((r) => setTimeout(r, 300));
      const box = (await (await page.$("#gl"))!.boundingBox())!;
      const table = await page.evaluate("globalThis.siamizeView.labelTable()") as { index: number; name: string }[];
      let named = 0;
      for (const [fx, fy] of [[0.5, 0.5], [0.4, 0.6], [0.55, 0.35]]) {
        await page.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
        const h = await page.evaluate("globalThis.siamizeView.hovered()") as { mm: number[]; value: number } | null;
        if (!h) continue;
        const want = labelAtWorld(cliLabels, h.mm);
        if (want === undefined) continue;
        assertEquals(h.value, want, `at ${h.mm}`);
        const c = table.find((x) => x.index === want)!;
        assertEquals(await page.$eval("#hover", (e) => e.textContent), `${c.name} (${c.index})`);
        named++;
      }
      assert(named > 0, "the cursor was never over the labels");

      // One screenshot per view, not blank.
      const canvas = (await page.$("#gl"))!;
      for (const view of ["axial", "coronal", "sagittal", "multiplanar", "render"]) {
        await page.evaluate(`globalThis.siamizeView.setView(${JSON.stringify(view)})`);
        await new Promise((r) => setTimeout(r, 300));
        const path = join(dir.path, `view_${view}.png`);
        await canvas.screenshot({ path });
        const v = await pngVariance(await Deno.readFile(path));
        assert(v > 1, `${view}: blank screenshot (variance ${v})`);
      }
      // The whole page, as the docs show it (SIAMIZE_VIEW_SCREENSHOT=docs/view.png writes it there too).
      await page.setViewport({ width: 1040, height: 700 });
      await page.evaluate(`globalThis.siamizeView.setView("multiplanar")`);
      await new Promise((r) => setTimeout(r, 500));
      const shot = join(dir.path, "page.png");
      await page.screenshot({ path: shot });
      assert((await pngVariance(await Deno.readFile(shot))) > 1);
      const keep = Deno.env.get("SIAMIZE_VIEW_SCREENSHOT");
      if (keep) await Deno.copyFile(shot, keep);
      const shots = Deno.env.get("SIAMIZE_VIEW_SHOTS");
      if (shots) {
        for (const e of Deno.readDirSync(dir.path)) {
          if (e.name.endsWith(".png")) await Deno.copyFile(join(dir.path, e.name), join(shots, e.name));
        }
      }
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
