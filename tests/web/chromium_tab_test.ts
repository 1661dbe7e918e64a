/**
 * The key browser test: `siamize web build`'s site, served on 127.0.0.1 and
 * driven in headless Chromium, segments a generated head-sized scan picked
 * from disk with the analytic stand-in and the tiny SIAM-shaped network on
 * onnxruntime-web (WASM), and its labels equal the CLI's (onnxruntime-node,
 * same card, patch, spacing and model) on ≥ 99.99% of voxels; the WASM heap
 * the page measured stays under its plan; a card that cannot fit a tab is
 * refused in the page before any model is loaded.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { parseNifti } from "../../lib/io/nifti.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { GOLDEN, ROOT, runCli, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";
import { type PageRun, runPage, siteServer, writeHeadScan } from "./_tab.ts";

const missing = chromiumMissing();
const ANALYTIC = join(GOLDEN, "analytic.onnx");
const ANALYTIC_CARD = join(ROOT, "models", "testing", "analytic.json");
/** Cards in the site: the 3 shipped ones, then ours. */
const CARD_ANALYTIC = 3, CARD_TINY = 4, CARD_SIAM = 0;
const SPACING = "3", PATCH = "32x32x32";

/** Voxels where the page's labels differ from the CLI's. */
async function compareWithCli(dir: string, run: PageRun, scan: string, model: string, card: string): Promise<number> {
  assertEquals(run.state, "done", `${run.message}\n${run.log}`);
  const out = join(dir, `cli_${run.tiles}_${model.length}.nii.gz`);
  const r = await runCli([
    "-i",
    scan,
    "-o",
    out,
    "-M",
    model,
    "--card",
    card,
    "-P",
    PATCH,
    "-u",
    SPACING,
    "-c",
    "cpu",
    "-q",
  ]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const cli = await readNifti(out);
  const tab = await parseNifti("tab.nii.gz", run.labels!);
  assertEquals(tab.dims, cli.dims);
  assertEquals(tab.affine, cli.affine);
  let differ = 0;
  for (let i = 0; i < cli.data.length; i++) if (tab.data[i] !== cli.data[i]) differ++;
  console.log(
    `  ${
      model.split("/").pop()
    }: ${differ} of ${cli.data.length} voxels differ; ${run.provider}, ${run.threads} WASM threads, ` +
      `${run.tiles} tiles, total ${run.timings!.total.toFixed(2)} s, tile median ${
        median(run.tileSeconds!).toFixed(3)
      } s; ` +
      `WASM heap ${(run.wasmHeap! / 2 ** 20).toFixed(0)} MiB of ${(run.memory!.wasm / 2 ** 20).toFixed(0)} MiB planned`,
  );
  assert(differ <= cli.data.length * 1e-4, `${differ} of ${cli.data.length} voxels differ`);
  assert(cli.data.some((v) => v !== 0), "the CLI's labels are all background");
  assert(run.wasmHeap! > 0, "the page measured no WASM heap");
  assert(run.wasmHeap! <= run.memory!.wasm, `WASM heap ${run.wasmHeap} over the planned ${run.memory!.wasm}`);
  return differ;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

Deno.test({
  name:
    "browser build: the page's labels (WASM) equal the CLI's for the analytic and tiny models; a card too big is refused",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const scan = join(dir.path, "head.nii.gz");
    await writeHeadScan(scan);
    const tinyCard = join(dir.path, "tiny.json");
    const card = JSON.parse(await Deno.readTextFile(ANALYTIC_CARD));
    await Deno.writeTextFile(
      tinyCard,
      JSON.stringify({ ...card, id: "tiny", name: "tiny SIAM-shaped", patchMultiple: [4, 4, 4] }),
    );
    const tiny = join(dir.path, "tiny.onnx");
    await Deno.copyFile(await tinyModel(), tiny);
    const server = await siteServer(dir.path, [ANALYTIC_CARD, tinyCard]);
    const browser = await launchChromium();
    try {
      const a = await runPage(browser, server.url, {
        scan,
        models: [ANALYTIC],
        card: CARD_ANALYTIC,
        patch: PATCH,
        spacing: SPACING,
      });
      await compareWithCli(dir.path, a, scan, ANALYTIC, ANALYTIC_CARD);
      const t = await runPage(browser, server.url, {
        scan,
        models: [tiny],
        card: CARD_TINY,
        patch: PATCH,
        spacing: SPACING,
      });
      await compareWithCli(dir.path, t, scan, tiny, tinyCard);
      // SIAM at its full patch needs ~8 GiB of activations: refused before the model is read.
      const big = await runPage(browser, server.url, { scan, models: [tiny], card: CARD_SIAM, patch: "256x256x192" });
      assertEquals(big.state, "failed");
      assert(/WASM heap.*more than a tab's 4\.0 GiB; choose a smaller patch/.test(big.message), big.message);
      assert(!/stage: load/.test(big.log), big.log);
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
