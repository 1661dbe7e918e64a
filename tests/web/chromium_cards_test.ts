/**
 * The cards beyond the single-scan ones, in headless Chromium on the built
 * site (WASM): HNOSeg-XS with its four MRI channels picked as four files
 * gives the CLI's labels (onnxruntime-node, same card and seeded model) on
 * ≥ 99.99% of voxels, and three files are refused in one line as the CLI
 * refuses them.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { parseNifti, readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { runCli } from "../_fixtures.ts";
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
