import { join } from "../../lib/core/_std.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { shippedCard, SIAM_V03 } from "../../lib/cards/shipped.ts";
import { makePlan } from "../../lib/run/plan.ts";
import { planWindows } from "../../lib/inference/window.ts";
import { tileStarts } from "../../lib/inference/tiling.ts";
import { assert, assertEquals } from "../_assert.ts";
import { runCli, tempDir } from "../_fixtures.ts";

const ct = shippedCard("monai-wholebody-ct")!;
const brats = shippedCard("hnoseg-xs-brats")!;

Deno.test("plan: defaults from the card; merges, grid, spacing names resolved", () => {
  const p = makePlan({});
  assertEquals(p.card.id, "siam-v0.3");
  assertEquals(p.patch, [256, 256, 192]);
  assertEquals([p.patchGiven, p.whole, p.grid, p.probabilities, p.temperature], [false, false, "input", false, 1]);
  assertEquals(p.labelTable.length, 18);
  const s = makePlan({ classes: "spm", upsample: true, lowmem: true, tpm: true });
  assertEquals(s.labelTable.map((c) => c.abbreviation), ["GM", "WM", "CSF", "Bone", "Soft", "Air"]);
  assertEquals(s.intracranial, SIAM_V03.merges!.spm.intracranial);
  assertEquals([s.grid, s.patch], ["working", [192, 192, 128]]);
  assertEquals(makePlan({ card: ct, spacing: "lowres" }).spacing, [3, 3, 3]);
  assertEquals(makePlan({ card: ct, spacing: 2 }).spacing, [2, 2, 2]);
  // Output on the working grid is open to every card that has one (MONAI's Spacing grid).
  assertEquals(makePlan({ card: ct, upsample: true }).grid, "working");
  assertEquals(makePlan({ card: brats }).whole, true);
});

Deno.test("plan: every option/card conflict is a usage error naming the value and what is allowed", () => {
  const cases: [Parameters<typeof makePlan>[0], RegExp][] = [
    [{ spacing: "nonsense" }, /-u nonsense: the SIAM card has no named spacings/],
    [{ card: ct, spacing: "ultra" }, /-u ultra: .*named spacings highres, lowres/],
    [{ spacing: 0 }, /-u 0: the spacing must be a positive number/],
    [{ spacing: Number.NaN }, /-u NaN/],
    [{ card: ct, classes: "spm" }, /-C spm: the MONAI whole-body CT card has no SPM merge \(it has none/],
    [{ classes: "tissues" }, /-C tissues: the SIAM card has no "tissues" merge \(it has spm/],
    [{ card: brats, upsample: true }, /--upsample: the HNOSeg-XS BraTS card runs on the input grid/],
    [{ card: brats, patch: "64x64x64" }, /-P: the HNOSeg-XS BraTS card runs the whole volume/],
    [
      { patch: "100x64x64" },
      /patch 100x64x64 is not valid for SIAM 0\.3: Z must be a multiple of 64; nearest valid: 128x64x64/,
    ],
    [{ patch: "64x64" }, /-P needs three positive integers/],
    [{ tpmT: 0 }, /--tpm-t 0: the temperature must be a positive number/],
    [{ threads: 1.5 }, /-t 1\.5: threads must be a positive integer/],
    [{ step: 0 }, /--step 0: the tile step must be a fraction of the patch, 0 < S <= 1/],
    [{ step: 1.5 }, /--step 1\.5: .*0 < S <= 1/],
    [{ step: Number.NaN }, /--step NaN/],
    [{ card: brats, step: 0.5 }, /--step: the HNOSeg-XS BraTS card runs the whole volume/],
  ];
  for (const [options, pattern] of cases) {
    let e: unknown;
    try {
      makePlan(options);
    } catch (x) {
      e = x;
    }
    assert(e instanceof UsageError, `${pattern}: no usage error (${e})`);
    assert(pattern.test(e.message), `${pattern}: ${e.message}`);
    assertEquals(e.exitCode, 64);
  }
});

Deno.test("cli: option/card conflicts exit 64 before the input is read or a model is touched", async () => {
  await using dir = await tempDir();
  // The input is not a NIfTI and the model does not exist: reading either would be another error (65/66).
  const input = join(dir.path, "broken.nii.gz");
  await Deno.writeTextFile(input, "not a scan");
  const model = join(dir.path, "missing.onnx");
  const out = join(dir.path, "labels.nii.gz");
  const runs: [string[], RegExp][] = [
    [["-u", "nonsense"], /-u nonsense/],
    [["--card", "monai-wholebody-ct", "-C", "spm"], /-C spm: the MONAI whole-body CT card has no SPM merge/],
    [["--card", "hnoseg-xs-brats", "--upsample"], /--upsample: the HNOSeg-XS BraTS card runs on the input grid/],
    [["--card", "hnoseg-xs-brats", "-P", "64x64x64"], /runs the whole volume/],
    [["-P", "100x64x64"], /nearest valid: 128x64x64/],
    [["--step", "1.25"], /--step 1\.25: .*0 < S <= 1/],
    [["--card", "hnoseg-xs-brats", "--step", "0.5"], /--step: the HNOSeg-XS BraTS card runs the whole volume/],
  ];
  for (const [extra, pattern] of runs) {
    const r = await runCli(["-i", input, "-o", out, "-M", model, "-q", ...extra]);
    assertEquals(r.code, 64, `${extra.join(" ")}: ${r.err.join("\n")}`);
    assertEquals(r.err.length, 1);
    assert(pattern.test(r.err[0]), r.err[0]);
  }
  // Without a conflict the same command gets as far as the model (66): the conflicts above were found first.
  const ok = await runCli(["-i", input, "-o", out, "-M", model, "-q"]);
  assertEquals(ok.code, 66, ok.err.join("\n"));
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name).sort(), ["broken.nii.gz"]);
});

Deno.test("plan: --step sets nnU-Net's tile step (MONAI's scan: overlap 1 - step), and the tile count follows nnU-Net's starts", () => {
  const siam = makePlan({});
  assertEquals([siam.step, siam.tta, siam.inference], [0.5, false, SIAM_V03.inference]);
  const shape: [number, number, number] = [200, 200, 200];
  const patch: [number, number, number] = [64, 64, 64];
  // compute_steps_for_sliding_window: per axis ceil((200 - 64) / (64 * step)) + 1 tiles.
  for (const [step, perAxis] of [[1, 4], [0.5, 6], [0.25, 10]]) {
    const p = makePlan({ step, tta: true });
    assertEquals([p.step, p.tta], [step, true]);
    const w = planWindows(shape, p.inference, patch);
    assertEquals(w.tiles.length, perAxis ** 3, `step ${step}`);
    assertEquals(w.tiles.map((t) => t[0]).filter((z, i, a) => a.indexOf(z) === i), tileStarts(shape, patch, step)[0]);
  }
  const ctPlan = makePlan({ card: ct, step: 0.75 });
  assertEquals(ctPlan.inference.mode === "sliding-window" && ctPlan.inference.overlap, 0.25);
  assertEquals(ctPlan.step, 0.75);
  assertEquals(makePlan({ card: ct }).step, 1 - (ct.inference as { overlap: number }).overlap);
  assertEquals(makePlan({ card: brats }).step, undefined);
});
