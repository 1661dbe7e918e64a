/**
 * The `tab` bench case: the browser build (`siamize web build`'s site,
 * served on 127.0.0.1 with the isolation headers) in headless Chromium on a
 * generated head-sized scan (134x160x140 voxels of 1.2 mm, run at 3 mm
 * with a 32³ patch), with the analytic stand-in and the generated tiny
 * model picked from disk, on WASM, and on WebGPU where Chromium offers an
 * adapter (`--enable-unsafe-webgpu`; the tiny model at 6 mm there, one
 * tile, as SwiftShader is slow). Per case: tiles, WASM threads, the median
 * tile, the network's seconds and the whole run in the page (reading the
 * scan to the labels, the first session's WASM compile included), medians
 * of `--runs` (each run a fresh page).
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { buildSite, serveSite } from "../../lib/web/site.ts";
import { launchChromium } from "../../tests/_chromium.ts";
import { type PageRun, runPage, writeHeadScan } from "../../tests/web/_tab.ts";
import { median, ROOT } from "./_common.ts";

/** One row of the table: a model on a provider at a spacing. */
interface TabCase {
  label: string;
  model: string;
  /** Card index in the site (3 shipped cards, then analytic, then tiny). */
  card: number;
  webgpu: boolean;
  spacing: string;
}

/** Runs the `tab` case when `cases` has it; `tiny` gives the generated tiny model's path. */
export async function benchTab(cases: string[], runs: number, tiny: () => Promise<string>): Promise<string[]> {
  if (!cases.includes("tab")) return [];
  const dir = await Deno.makeTempDir({ prefix: "siamize-bench-tab-" });
  try {
    const scan = join(dir, "head.nii.gz");
    await writeHeadScan(scan);
    const analyticCard = join(ROOT, "models", "testing", "analytic.json");
    const tinyCard = join(dir, "tiny.json");
    const card = JSON.parse(await Deno.readTextFile(analyticCard));
    await Deno.writeTextFile(tinyCard, JSON.stringify({ ...card, id: "tiny", patchMultiple: [4, 4, 4] }));
    await buildSite(join(dir, "site"), { cards: [analyticCard, tinyCard] });
    const server = await serveSite(join(dir, "site"));
    const analytic = join(ROOT, "tests", "golden", "analytic.onnx"), tinyModel = await tiny();
    const lines = [
      `the browser build in headless Chromium (${Deno.build.target}, ${navigator.hardwareConcurrency} cores): ` +
      `generated head scan 134x160x140 at 1.2 mm, 32x32x32 patch; ${runs} runs (fresh page each), median; seconds`,
      "| model | provider | spacing | tiles | WASM threads | tile (median) | network | whole run | runs |",
      "|---|---|---|---|---|---|---|---|---|",
    ];
    try {
      const all: TabCase[] = [
        { label: "analytic", model: analytic, card: 3, webgpu: false, spacing: "3" },
        { label: "tiny", model: tinyModel, card: 4, webgpu: false, spacing: "3" },
        { label: "analytic", model: analytic, card: 3, webgpu: true, spacing: "3" },
        { label: "tiny", model: tinyModel, card: 4, webgpu: true, spacing: "6" },
      ];
      for (const webgpu of [false, true]) {
        const browser = await launchChromium({ webgpu });
        try {
          if (webgpu) {
            const page = await browser.newPage();
            await page.goto(server.url);
            const adapter = await page.evaluate(
              `(async () => !!(navigator.gpu && await navigator.gpu.requestAdapter()))()`,
            );
            await page.close();
            if (!adapter) {
              lines.push("| (WebGPU) | no adapter in this Chromium | | | | | | | |");
              continue;
            }
          }
          for (const c of all.filter((c) => c.webgpu === webgpu)) {
            const rs: PageRun[] = [];
            for (let i = 0; i < runs; i++) {
              const r = await runPage(browser, server.url, {
                scan,
                models: [c.model],
                card: c.card,
                patch: "32x32x32",
                spacing: c.spacing,
                compute: webgpu ? "webgpu" : "cpu",
              }, 600_000);
              if (r.state !== "done") throw new Error(`tab ${c.label}: ${r.message}\n${r.log}`);
              console.error(`tab ${c.label} ${r.provider} run ${i + 1}/${runs}: ${r.timings!.total.toFixed(1)} s`);
              rs.push(r);
            }
            const m = (f: (r: PageRun) => number) => median(rs.map(f));
            lines.push(
              `| ${c.label} | ${rs[0].provider} | ${c.spacing} mm | ${rs[0].tiles} | ${rs[0].threads} | ${
                m((r) => median(r.tileSeconds!)).toFixed(2)
              } | ${m((r) => r.timings!.network).toFixed(1)} | ${m((r) => r.timings!.total).toFixed(1)} | ${runs} |`,
            );
          }
        } finally {
          await browser.close();
        }
      }
    } finally {
      await server.shutdown();
    }
    return lines;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
