/**
 * The key browser tests: `siamize web build`'s site, served on 127.0.0.1
 * and driven in headless Chromium, segments a generated head-sized scan
 * picked from disk with the analytic stand-in and the tiny SIAM-shaped
 * network on onnxruntime-web — WASM, then WebGPU (Chromium's SwiftShader
 * adapter) — and its labels equal the CLI's (onnxruntime-node, same card,
 * patch, spacing and model) on ≥ 99.99% of voxels; the WASM heap the page
 * measured stays under its plan; a card that cannot fit a tab is refused in
 * the page before any model is loaded; the golden MONAI CT case gives
 * MONAI's labels in the tab.
 *
 * The scan: 134x160x140 voxels of 1.2 mm (a head's extent), at 3 mm with a
 * 32³ patch (12 tiles) to keep the tests quick on 2 cores.
 *
 * @module
 */
import { dirname, join } from "../../lib/core/_std.ts";
import type { Volume } from "../../lib/core/types.ts";
import { parseNifti, readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { GOLDEN, ROOT, runCli } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";
import { type PageRun, runPage, siteServer, writeHeadScan } from "./_tab.ts";

const missing = chromiumMissing();
const ANALYTIC = join(GOLDEN, "analytic.onnx");
const ANALYTIC_CARD = join(ROOT, "models", "testing", "analytic.json");
/** Cards in the site: the 3 shipped ones (SIAM, MONAI CT, HNOSeg-XS), then ours. */
const CARD_SIAM = 0, CARD_CT = 1, CARD_ANALYTIC = 3, CARD_TINY = 4;
const SPACING = "3", PATCH = "32x32x32";

/** The scan, the tiny card and model, and a served site, made once for the tests of this file. */
interface Setup {
  scan: string;
  tiny: string;
  tinyCard: string;
  url: string;
}
let setup: Promise<Setup> | undefined;
function prepared(): Promise<Setup> {
  return setup ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "siamize-tab-" });
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
    const scan = join(dir, "head.nii.gz");
    await writeHeadScan(scan);
    const tinyCard = join(dir, "tiny.json");
    const card = JSON.parse(await Deno.readTextFile(ANALYTIC_CARD));
    await Deno.writeTextFile(
      tinyCard,
      JSON.stringify({ ...card, id: "tiny", name: "tiny SIAM-shaped", patchMultiple: [4, 4, 4] }),
    );
    const tiny = join(dir, "tiny.onnx");
    await Deno.copyFile(await tinyModel(), tiny);
    // The server lives as long as the test process (its port is closed when the process ends).
    const server = await siteServer(dir, [ANALYTIC_CARD, tinyCard]);
    return { scan, tiny, tinyCard, url: server.url };
  })();
}

const cliRuns = new Map<string, Promise<Volume>>();

/** The CLI's labels (onnxruntime-node, CPU) for a scan, model, card, patch and spacing; run once per combination. */
function cliLabels(scan: string, model: string, card: string, patch = PATCH, spacing = SPACING): Promise<Volume> {
  const key = [scan, model, card, patch, spacing].join("|");
  let p = cliRuns.get(key);
  if (!p) {
    p = (async () => {
      const out = join(dirname((await prepared()).scan), `cli_${cliRuns.size}.nii.gz`);
      const args = ["-i", scan, "-o", out, "-M", model, "--card", card, "-P", patch, "-c", "cpu", "-q"];
      const r = await runCli(spacing ? [...args, "-u", spacing] : args);
      assertEquals(r.code, 0, r.err.join("\n"));
      return await readNifti(out);
    })();
    cliRuns.set(key, p);
  }
  return p;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

/** Checks the page's labels against the CLI's (≤ 0.01% of voxels differ) and its heap against its plan. */
async function compareWithCli(
  run: PageRun,
  scan: string,
  model: string,
  card: string,
  spacing = SPACING,
): Promise<void> {
  assertEquals(run.state, "done", `${run.message}\n${run.log}`);
  const cli = await cliLabels(scan, model, card, PATCH, spacing);
  const tab = await parseNifti("tab.nii.gz", run.labels!);
  assertEquals(tab.dims, cli.dims);
  assertEquals(tab.affine, cli.affine);
  let differ = 0;
  for (let i = 0; i < cli.data.length; i++) if (tab.data[i] !== cli.data[i]) differ++;
  console.log(
    `  ${model.split("/").pop()}: ${differ} of ${cli.data.length} voxels differ; ${run.provider}, ` +
      `${run.threads} WASM threads, ${run.tiles} tiles, total ${run.timings!.total.toFixed(2)} s ` +
      `(network ${run.timings!.network.toFixed(2)} s), tile median ${median(run.tileSeconds!).toFixed(3)} s; ` +
      `WASM heap ${(run.wasmHeap! / 2 ** 20).toFixed(0)} MiB of ${(run.memory!.wasm / 2 ** 20).toFixed(0)} MiB planned`,
  );
  assert(differ <= cli.data.length * 1e-4, `${differ} of ${cli.data.length} voxels differ`);
  assert(cli.data.some((v) => v !== 0), "the CLI's labels are all background");
  assert(run.wasmHeap! > 0, "the page measured no WASM heap");
  assert(run.wasmHeap! <= run.memory!.wasm, `WASM heap ${run.wasmHeap} over the planned ${run.memory!.wasm}`);
}

Deno.test({
  name:
    "browser build: the page's labels (WASM) equal the CLI's for the analytic and tiny models; a card too big is refused",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { scan, tiny, tinyCard, url } = await prepared();
    const browser = await launchChromium();
    try {
      const pick = { scan, patch: PATCH, spacing: SPACING };
      const a = await runPage(browser, url, { ...pick, models: [ANALYTIC], card: CARD_ANALYTIC });
      await compareWithCli(a, scan, ANALYTIC, ANALYTIC_CARD);
      assertEquals(a.viewer, "2", `NiiVue: ${a.viewer}\n${a.log}`);
      const t = await runPage(browser, url, { ...pick, models: [tiny], card: CARD_TINY });
      await compareWithCli(t, scan, tiny, tinyCard);
      // SIAM at its full patch needs ~8 GiB of activations: refused before the model is read.
      const big = await runPage(browser, url, { scan, models: [tiny], card: CARD_SIAM, patch: "256x256x192" });
      assertEquals(big.state, "failed");
      assert(/WASM heap.*more than a tab's 4\.0 GiB; choose a smaller patch/.test(big.message), big.message);
      assert(!/stage: load/.test(big.log), big.log);
    } finally {
      await browser.close();
    }
  },
});

Deno.test({
  name:
    "browser build: on WebGPU (Chromium's SwiftShader) the page's labels equal the CLI's for the analytic and tiny models",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { scan, tiny, tinyCard, url } = await prepared();
    const browser = await launchChromium({ webgpu: true });
    try {
      const pick = { scan, patch: PATCH, spacing: SPACING, compute: "webgpu" as const };
      const a = await runPage(browser, url, { ...pick, models: [ANALYTIC], card: CARD_ANALYTIC });
      assertEquals(a.provider, "webgpu", a.log);
      await compareWithCli(a, scan, ANALYTIC, ANALYTIC_CARD);
      // The tiny U-Net on SwiftShader takes seconds per 32³ tile: at 6 mm the head is one tile.
      const t = await runPage(browser, url, { ...pick, spacing: "6", models: [tiny], card: CARD_TINY });
      assertEquals(t.provider, "webgpu", t.log);
      // Its 3-D ConvTranspose goes through the rewrite pass on WebGPU.
      assert(/tiny\.onnx: graph rewritten for webgpu \(.*convtranspose3d->conv\+d2s: 2 rewritten/.test(t.log), t.log);
      await compareWithCli(t, scan, tiny, tinyCard, "6");
    } finally {
      await browser.close();
    }
  },
});

/**
 * The MONAI case takes about 3 minutes here (two 96³ tiles of a 105-class
 * SegResNet on WASM, and the CLI's run): only with `SIAMIZE_TAB_SLOW=1`,
 * which `.ci/run` sets.
 */
const SLOW = Deno.env.get("SIAMIZE_TAB_SLOW") === "1";

Deno.test({
  name: "browser build: the golden MONAI CT case in the tab (WASM) gives MONAI's labels (SIAMIZE_TAB_SLOW=1)",
  ignore: missing !== undefined || !SLOW,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { url } = await prepared();
    const ct = join(GOLDEN, "monai", "ct_small.nii.gz"), net = join(GOLDEN, "monai", "segresnet_tiny_seed0.onnx");
    const browser = await launchChromium();
    try {
      const r = await runPage(browser, url, { scan: ct, models: [net], card: CARD_CT, patch: "96x96x96" }, 240_000);
      assertEquals(r.state, "done", `${r.message}\n${r.log}`);
      const tab = await parseNifti("tab.nii.gz", r.labels!);
      const monai = await readNifti(join(GOLDEN, "monai", "ct_small_monai_labels.nii.gz"));
      const cli = await cliLabels(ct, net, "monai-wholebody-ct", "96x96x96", "");
      let sameMonai = 0, sameCli = 0;
      for (let i = 0; i < monai.data.length; i++) {
        if (tab.data[i] === monai.data[i]) sameMonai++;
        if (tab.data[i] === cli.data[i]) sameCli++;
      }
      const n = monai.data.length;
      console.log(
        `  MONAI CT: ${n - sameMonai} of ${n} voxels differ from MONAI's labels ` +
          `(${(100 * sameMonai / n).toFixed(3)}% equal), ${n - sameCli} from the CLI's; ${r.tiles} tiles, ` +
          `total ${r.timings!.total.toFixed(1)} s, WASM heap ${(r.wasmHeap! / 2 ** 20).toFixed(0)} MiB of ` +
          `${(r.memory!.wasm / 2 ** 20).toFixed(0)} MiB planned`,
      );
      // 105 classes of seeded random weights have near-ties, where WASM and native MLAS may pick differently.
      assert(n - sameCli <= n * 1e-3, `${n - sameCli} voxels differ from the CLI's`);
      assert(sameMonai >= n * 0.999, `${(100 * sameMonai / n).toFixed(3)}% equal to MONAI's labels`);
      assert(r.wasmHeap! <= r.memory!.wasm, `WASM heap ${r.wasmHeap} over the planned ${r.memory!.wasm}`);
    } finally {
      await browser.close();
    }
  },
});
