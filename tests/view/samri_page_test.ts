import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { startViewServer } from "../../lib/view/server.ts";
import { main } from "../../cli.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { GOLDEN, tempDir } from "../_fixtures.ts";

const missing = chromiumMissing();
const PHANTOM = join(GOLDEN, "phantom.nii.gz");
const MODELS = ["tiny_encoder.onnx", "tiny_decoder.onnx"].map((f) => join(GOLDEN, "samri", "models", f)).join(",");

interface Last {
  request: { axis: number; index: number; box?: number[]; points: { x: number; y: number; label: number }[] };
  result?: { url: string; pixels: number; encoded: boolean };
  error?: string;
}

Deno.test({
  name:
    "view page (Chromium): a box dragged on a slice gives `siamize prompt --slice`'s mask; a second prompt skips the encoder",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const server = await startViewServer({ scan: PHANTOM });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction("globalThis.siamizeView !== undefined", { timeout: 30_000 });
      assertEquals(await page.evaluate("globalThis.siamizeView.ready"), true, errors.join("\n"));
      await page.$eval("#samri-models", (e, v) => (e as unknown as { value: string }).value = v as string, MODELS);
      await page.click("#samri-on"); // switches to the axial view
      await new Promise((r) => setTimeout(r, 300));
      const box = (await (await page.$("#prompt-layer"))!.boundingBox())!;
      const last = async (n: number) => {
        await page.waitForFunction(
          `globalThis.siamizeView.samri.last && !globalThis.siamizeView.samri.busy`,
          { timeout: 60_000 },
        ).catch(async (e) => {
          const info = await page.evaluate(
            `JSON.stringify({ s: document.getElementById("samri-status").textContent, e: document.getElementById("samri-error").textContent, busy: globalThis.siamizeView.samri.busy, t: globalThis.siamizeView.nv.opts.sliceType })`,
          );
          throw new Error(`prompt ${n}: ${e} ${info} ${errors.join("; ")}`);
        });
        return await page.evaluate("globalThis.siamizeView.samri.last") as Last;
      };
      // Drag a box across the middle of the slice.
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.4);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.65, { steps: 5 });
      await page.mouse.up();
      const first = await last(1);
      assert(first.result, first.error);
      assertEquals(first.result.encoded, true);
      const b = first.request.box!;
      assert(b[2] > b[0] && b[3] > b[1], `box ${b}`);
      // The CLI on the same slice and box.
      const out = join(dir.path, "cli.nii.gz");
      const err: string[] = [];
      const code = await main([
        "prompt",
        "-i",
        PHANTOM,
        "--slice",
        `${first.request.axis}:${first.request.index}`,
        "--box",
        ...b.map(String),
        "-M",
        MODELS,
        "-o",
        out,
        "--no-cache",
        "-q",
      ], { out: () => {}, err: (l) => err.push(l), isTty: false });
      assertEquals(code, 0, err.join("\n"));
      const want = Array.from((await readNifti(out)).data as ArrayLike<number>);
      const got = join(dir.path, "page.nii.gz");
      await Deno.writeFile(
        got,
        new Uint8Array(await (await fetch(new URL(first.result.url, server.url))).arrayBuffer()),
      );
      const mask = Array.from((await readNifti(got)).data as ArrayLike<number>);
      assertEquals(mask.length, want.length);
      assert(mask.every((v, i) => v === want[i]), "the page's mask differs from siamize prompt's");
      assert(first.result.pixels > 0 && first.result.pixels === want.reduce((a, v) => a + v, 0));
      // The mask NiiVue shows is that file.
      assertEquals(await page.evaluate("globalThis.siamizeView.nv.volumes.length"), 2);

      // A negative point on the same slice: the decoder only.
      await page.evaluate("globalThis.siamizeView.samri.last = null");
      await page.keyboard.down("Shift");
      await page.mouse.click(box.x + box.width * 0.5, box.y + box.height * 0.5);
      await page.keyboard.up("Shift");
      const second = await last(2);
      assert(second.result, second.error);
      assertEquals(second.result.encoded, false);
      assertEquals([second.request.axis, second.request.index], [first.request.axis, first.request.index]);
      assertEquals(second.request.box, b);
      assertEquals(second.request.points.map((p) => p.label), [0]);

      // Accept, then save: the label layer on the scan's grid holds the accepted mask.
      await page.click("#samri-accept");
      await page.waitForFunction(`!document.getElementById("samri-save").hidden`, { timeout: 30_000 });
      const href = await page.$eval("#samri-save", (a) => a.getAttribute("href"));
      const saved = join(dir.path, "saved.nii.gz");
      await Deno.writeFile(saved, new Uint8Array(await (await fetch(new URL(href!, server.url))).arrayBuffer()));
      const layer = await readNifti(saved);
      assertEquals(layer.dims.slice(0, 3), (await readNifti(PHANTOM)).dims.slice(0, 3));
      assertEquals(
        Array.from(layer.data as ArrayLike<number>).reduce((a, v) => a + v, 0),
        second.result.pixels,
      );
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
