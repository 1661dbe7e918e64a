/**
 * `siamize view --in-browser SCAN`, run as `deno task siamize` (its exact
 * permissions: no `--allow-run`), serves a page that loads in headless
 * Chromium with SCAN preselected and segments it in the tab (WASM, the
 * analytic model picked from disk): labels equal to the CLI's on ≥ 99.99%
 * of voxels, WASM threads on (the server sends the isolation headers);
 * Ctrl-C stops the server and removes its temp folder.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { parseNifti, readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { chromiumMissing, launchChromium } from "../_chromium.ts";
import { GOLDEN, ROOT, runCli, tempDir } from "../_fixtures.ts";
import { taskCommand } from "../_tasks.ts";
import { runPage, writeHeadScan } from "../web/_tab.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");
const ANALYTIC_CARD = join(ROOT, "models", "testing", "analytic.json");

Deno.test({
  name: "siamize view --in-browser SCAN: the page loads with SCAN preselected and segments it in the tab like the CLI",
  ignore: chromiumMissing() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const scan = join(dir.path, "head.nii.gz");
    const t0 = performance.now();
    const lap = (what: string) => console.log(`  ${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await writeHeadScan(scan);
    lap("scan written");
    const child = taskCommand("siamize", ["view", "--in-browser", scan, "--card", ANALYTIC_CARD, "--no-open"]).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const errText = child.stderr.pipeThrough(new TextDecoderStream());
    const errLines: string[] = [];
    const errDone = errText.pipeTo(new WritableStream({ write: (c) => void errLines.push(c) }));
    const browser = await launchChromium();
    try {
      let url = "", text = "";
      while (!url) {
        const { value, done } = await out.read();
        if (done) break;
        text += value;
        url = text.match(/http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/\?scan=\S+/)?.[0] ?? "";
      }
      lap("server up");
      assert(url, `no URL printed: ${text} ${errLines.join("")}`);
      // Cards: the 3 shipped ones, then the one named by --card.
      const run = await runPage(browser, url, { models: [ANALYTIC], card: 3, patch: "32x32x32", spacing: "3" });
      lap(`page run (${run.timings?.total?.toFixed(1)} s in the page)`);
      assertEquals(run.state, "done", `${run.message}\n${run.log}`);
      assertEquals(run.preset, "head.nii.gz");
      assert(run.threads! > 1, `${run.threads} WASM threads: the page is not cross-origin isolated`);
      const cliOut = join(dir.path, "cli.nii.gz");
      const r = await runCli([
        ...["-i", scan, "-o", cliOut, "-M", ANALYTIC, "--card", ANALYTIC_CARD],
        ...["-P", "32x32x32", "-u", "3", "-c", "cpu", "-q"],
      ]);
      assertEquals(r.code, 0, r.err.join("\n"));
      lap("CLI run");
      const cli = await readNifti(cliOut), tab = await parseNifti("tab.nii.gz", run.labels!);
      assertEquals(tab.dims, cli.dims);
      let differ = 0;
      for (let i = 0; i < cli.data.length; i++) if (tab.data[i] !== cli.data[i]) differ++;
      assert(cli.data.some((v) => v !== 0), "the CLI's labels are all background");
      assert(differ <= cli.data.length * 1e-4, `${differ} of ${cli.data.length} voxels differ from the CLI's`);
      child.kill("SIGINT");
      assertEquals((await child.status).code, 130);
    } finally {
      await browser.close();
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await out.cancel().catch(() => {});
      await errDone.catch(() => {});
    }
  },
});
