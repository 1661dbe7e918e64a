/**
 * The cards beyond the single-scan ones, in headless Chromium on the built
 * site (WASM): HNOSeg-XS with its four MRI channels picked as four files
 * gives the CLI's labels (onnxruntime-node, same card and seeded model) on
 * ≥ 99.99% of voxels, and three files are refused in one line as the CLI
 * refuses them; SAMRI (seeded sam-tiny networks): a box dragged on a slice
 * of a 3-D scan gives exactly `siamize prompt --slice --box`'s mask, and a
 * second prompt on the slice runs the decoder only.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { parseNifti, readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { runCli, withEnv } from "../_fixtures.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { runPage, siteServer, writeBratsScans } from "./_tab.ts";

const missing = chromiumMissing();
/** HNOSeg-XS's index among the site's cards (SIAM, MONAI CT, HNOSeg-XS). */
const CARD_HNOSEG = 2;

/** A temp folder removed when the test process ends. */
async function tempFolder(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* gone */ }
  });
  return dir;
}

Deno.test({
  name: "browser build: HNOSeg-XS's four channels picked in the page give the CLI's labels; three files are refused",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await tempFolder("siamize-tab-hnoseg-");
    const model = join(dir, "hnoseg.onnx");
    await makeModel("hnoseg-xs", model, false, 5);
    const scans = await writeBratsScans(dir);
    const server = await siteServer(dir, []);
    const browser = await launchChromium();
    try {
      const r = await runPage(browser, server.url, { channels: scans, models: [model], card: CARD_HNOSEG });
      assertEquals(r.state, "done", `${r.message}\n${r.log}`);
      const out = join(dir, "cli.nii.gz");
      const c = await runCli(["-i", scans.join(","), "-o", out, "-M", model, "--card", "hnoseg-xs-brats", "-c", "cpu"]);
      assertEquals(c.code, 0, c.err.join("\n"));
      const cli = await readNifti(out);
      const tab = await parseNifti("tab.nii.gz", r.labels!);
      assertEquals(tab.dims, cli.dims);
      assertEquals(tab.affine, cli.affine);
      let differ = 0;
      for (let i = 0; i < cli.data.length; i++) if (tab.data[i] !== cli.data[i]) differ++;
      console.log(
        `  HNOSeg-XS: ${differ} of ${cli.data.length} voxels differ from the CLI's; ${r.provider}, ${r.threads} WASM ` +
          `threads, total ${r.timings!.total.toFixed(2)} s (network ${r.timings!.network.toFixed(2)} s); WASM heap ` +
          `${(r.wasmHeap! / 2 ** 20).toFixed(0)} MiB of ${(r.memory!.wasm / 2 ** 20).toFixed(0)} MiB planned`,
      );
      assert(new Set(cli.data).size > 1, "the CLI's labels are one class");
      assert(differ <= cli.data.length * 1e-4, `${differ} of ${cli.data.length} voxels differ`);
      assert(r.wasmHeap! <= r.memory!.wasm, `WASM heap ${r.wasmHeap} over the planned ${r.memory!.wasm}`);
      // Three of the four channels: refused in one line naming the files, before any model is loaded.
      const three = await runPage(browser, server.url, { channels: scans.slice(0, 3), models: [model], card: 2 });
      assertEquals(three.state, "failed");
      assertEquals(
        three.message,
        "failed: sub_t1c.nii.gz,sub_t1n.nii.gz,sub_t2f.nii.gz: 3 files; the HNOSeg-XS BraTS card needs 4 (t1c, t1n, t2f, t2w)",
      );
      assert(!/stage: load/.test(three.log), three.log);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

/** The page's SAMRI summary (`window.siamizePrompt`). */
interface PromptRun {
  prompt: { box?: number[]; points?: { x: number; y: number; label?: number }[] };
  encoded: boolean;
  encoderRuns: number;
  decoderRuns: number;
  providers: { encoder?: string; decoder: string };
  seconds: { encoder: number; decoder: number };
  pixels: number;
  threads: number;
  memory: { wasm: number };
  wasmHeap: number;
  mask: number[];
}

Deno.test({
  name:
    "browser build: SAMRI in the page: a dragged box gives siamize prompt's mask; the next prompt skips the encoder",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await tempFolder("siamize-tab-samri-");
    await makeModel("sam-tiny", join(dir, "sam.onnx"), false, 3);
    const enc = join(dir, "sam_encoder.onnx"), dec = join(dir, "sam_decoder.onnx");
    const [scan] = await writeBratsScans(dir);
    const server = await siteServer(dir, []);
    const browser = await launchChromium();
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(server.url);
      await page.waitForFunction(`document.getElementById("p-status").dataset.state === "ready"`, { timeout: 30_000 })
        .catch(() => {
          throw new Error(`page did not load: ${errors.join("; ")}`);
        });
      type Upload = { uploadFile(...p: string[]): Promise<void> };
      await (await page.$("#p-scan") as unknown as Upload).uploadFile(scan);
      await (await page.$("#p-encoder") as unknown as Upload).uploadFile(enc);
      await (await page.$("#p-decoder") as unknown as Upload).uploadFile(dec);
      await page.select("#p-compute", "cpu");
      await page.type("#p-index", "18");
      await page.click("#p-load");
      const state = `document.getElementById("p-status").dataset.state`;
      await page.waitForFunction(`["loaded", "failed"].includes(${state})`, { timeout: 60_000 });
      const loaded = await page.evaluate(`[${state}, document.getElementById("p-status").textContent]`) as string[];
      assertEquals(loaded[0], "loaded", loaded[1]);
      // Drag a box on the slice as a user would: from pixel (10, 8) to pixel (34, 30) of the 48x40 slice.
      const rect = await page.evaluate(`(() => { const c = document.getElementById("p-canvas");
        c.scrollIntoView(); const r = c.getBoundingClientRect();
        return [r.left, r.top, r.width, r.height]; })()`) as number[];
      const px = (x: number, y: number): [number, number] => [
        rect[0] + (x + 0.5) * rect[2] / 48,
        rect[1] + (y + 0.5) * rect[3] / 40,
      ];
      await page.mouse.move(...px(10, 8));
      await page.mouse.down();
      await page.mouse.move(...px(34, 30), { steps: 4 });
      await page.mouse.up();
      const why = async () =>
        await page.evaluate(`document.getElementById("p-status").textContent + "\\n" +
          document.getElementById("p-log").textContent`) + errors.join("; ");
      const runs = (n: number) =>
        page.waitForFunction(
          `${state} === "failed" || document.getElementById("p-status").dataset.runs === "${n}"`,
          { timeout: 60_000 },
        ).catch(async () => {
          throw new Error(`no prompt result ${n}: ${await why()}`);
        });
      const result = async (): Promise<PromptRun> => {
        const r = await page.evaluate(`(() => {
          const s = document.getElementById("p-status");
          if (s.dataset.state === "failed") return { failed: s.textContent + "\\n" + document.getElementById("p-log").textContent };
          const p = window.siamizePrompt;
          return { ...p, maskNiftiGz: undefined, mask: Array.from(p.maskNiftiGz) };
        })()`) as PromptRun & { failed?: string };
        assert(!r.failed, r.failed);
        return r;
      };
      await runs(1);
      const first = await result();
      assertEquals(first.prompt.box, [10, 8, 34, 30]);
      assert(first.encoded && first.encoderRuns === 1, JSON.stringify(first));
      const out = join(dir, "cli.nii.gz");
      await withEnv({ SIAMIZE_CACHE_DIR: join(dir, "cache") }, async () => {
        const c = await runCli(
          ["prompt", "-i", scan, "--slice", "2:18", "--box", "10", "8", "34", "30", "-M", `${enc},${dec}`, "-o", out],
        );
        assertEquals(c.code, 0, c.err.join("\n"));
      });
      const cli = await readNifti(out);
      const tab = await parseNifti("tab.nii.gz", new Uint8Array(first.mask));
      assertEquals(tab.dims, cli.dims);
      assertEquals(tab.affine, cli.affine);
      let differ = 0, set = 0;
      for (let i = 0; i < cli.data.length; i++) {
        if (tab.data[i] !== cli.data[i]) differ++;
        set += cli.data[i];
      }
      // A second prompt (a point typed in) on the same slice: the decoder only.
      await page.type("#p-points", "20 15");
      await page.click("#p-predict");
      await runs(2);
      const second = await result();
      console.log(
        `  SAMRI (sam-tiny): ${differ} of ${cli.data.length} voxels differ from siamize prompt's (${set} set); ` +
          `encoder ${first.seconds.encoder.toFixed(2)} s on ${first.providers.encoder}, decoder ` +
          `${first.seconds.decoder.toFixed(3)} s, then ${second.seconds.decoder.toFixed(3)} s on ` +
          `${second.providers.decoder}; ${first.threads} WASM threads; WASM heap ` +
          `${(second.wasmHeap / 2 ** 20).toFixed(0)} MiB of ${(second.memory.wasm / 2 ** 20).toFixed(0)} MiB planned`,
      );
      assertEquals(differ, 0);
      assert(set > 0, "empty mask");
      assertEquals([second.encoded, second.encoderRuns, second.decoderRuns], [false, 1, 2]);
      assertEquals(second.seconds.encoder, 0);
      assert(second.wasmHeap <= second.memory.wasm, `WASM heap ${second.wasmHeap} over ${second.memory.wasm}`);
    } finally {
      await page.close();
      await browser.close();
      await server.shutdown();
    }
  },
});
