/**
 * `deno task regress [--input SCAN --reference LABELS] [-M models] [--card CARD] [-P ZxYxX]`
 * `deno task regress --float64 [--input SCAN] [-P ZxYxX]`
 *
 * Runs a segmentation end to end and prints voxel agreement and per-class
 * Dice against reference labels; exits 1 below the threshold (99.9%).
 * Without arguments: the golden phantom with tests/golden/analytic.onnx.
 * With the real weights, `--input T1 --reference siam_labels.nii.gz -M all`
 * checks a release against SIAM's own output. `--float64`: the golden
 * stand-in at real size (default ch2 at patch 256x256x192, where ONNX
 * Runtime's InstanceNormalization kernel used to cost 0.8% of voxels)
 * against the same pipeline with the network evaluated in float64 by
 * `analytic64.ts`.
 *
 * @module
 */
import { enterUserFolder } from "../lib/cli/user_folder.ts";
import { fromFileUrl, join } from "../lib/core/_std.ts";
import { scriptArgs } from "./_cli.ts";

const REGRESS_USAGE = `regress [--input SCAN --reference LABELS] [-M MODELS] [--card CARD] [-P ZxYxX] [-c cpu]
        [--threshold 0.999] [--float64]
  --input SCAN        the scan to segment (default: the golden phantom; with --float64, Colin27 ch2.nii.gz)
  --reference LABELS  labels to compare with (default: the phantom's golden labels)
  -M, --model MODELS  models as siamize's -M (default: tests/golden/analytic.onnx for the phantom and --float64,
                      else fold 0)
  --card CARD         model card (default: the analytic stand-in's for the phantom and --float64, else siam-v0.3)
  -P, --patch ZxYxX   patch (default 64x64x48 for the phantom, 256x256x192 with --float64, else the card's)
  -c, --compute NAME  provider (default cpu)
  --threshold T       least voxel agreement (default 0.999)
  --float64           compare the golden stand-in at real size (default patch 256x256x192) with the same pipeline
                      evaluating the network in float64 (docs/numerics.md)
Prints voxel agreement and per-class Dice; exits 1 when the agreement is below the threshold.`;
import { loadCard } from "../lib/cards/parse.ts";
import { readNifti } from "../lib/io/nifti.ts";
import { segment } from "../lib/run/segment.ts";
import { analytic64Backend } from "./builders/analytic64.ts";

/** Agreement and Dice of two label arrays. */
export function compareLabels(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  classes: number,
): { agreement: number; dice: number[] } {
  if (a.length !== b.length) throw new Error(`label images differ in size: ${a.length} vs ${b.length}`);
  const inA = new Float64Array(classes), inB = new Float64Array(classes), both = new Float64Array(classes);
  let agree = 0;
  for (let i = 0; i < a.length; i++) {
    inA[a[i]]++;
    inB[b[i]]++;
    if (a[i] === b[i]) {
      agree++;
      both[a[i]]++;
    }
  }
  const dice = Array.from({ length: classes }, (_, c) => (inA[c] + inB[c] ? (2 * both[c]) / (inA[c] + inB[c]) : NaN));
  return { agreement: agree / a.length, dice };
}

if (import.meta.main) {
  enterUserFolder(); // relative paths mean the folder the user typed the command in
  const root = fromFileUrl(new URL("..", import.meta.url));
  const golden = join(root, "tests", "golden");
  const { values } = scriptArgs(REGRESS_USAGE, {
    options: {
      input: { type: "string" },
      reference: { type: "string" },
      model: { type: "string", short: "M" },
      card: { type: "string" },
      patch: { type: "string", short: "P" },
      compute: { type: "string", short: "c", default: "cpu" },
      threshold: { type: "string", default: "0.999" },
      float64: { type: "boolean", default: false },
    },
  });
  const f64 = values.float64;
  const phantom = !values.input;
  const input = values.input ?? (f64 ? "/usr/share/mricron/templates/ch2.nii.gz" : join(golden, "phantom.nii.gz"));
  const reference = f64
    ? "float64 evaluation of the network"
    : values.reference ?? join(golden, "phantom_labels_p64x64x48.nii.gz");
  const card = await loadCard(
    values.card ??
      (phantom || f64 ? join(root, "models", "testing", "analytic.json") : join(root, "models", "siam-v0.3.json")),
  );
  const models = values.model ?? (phantom || f64 ? join(golden, "analytic.onnx") : "0");
  const patch = values.patch ?? (f64 ? "256x256x192" : phantom ? "64x64x48" : undefined);
  try {
    const r = await segment(input, { card, models, patch, compute: values.compute as "cpu" });
    const ref = f64
      ? (await segment(input, { card, models, patch, backend: analytic64Backend })).labels
      : await readNifti(reference);
    const { agreement, dice } = compareLabels(r.labels.data, ref.data, card.classes.length);
    console.log(
      `input ${input}\nreference ${reference}\nmodels ${r.models.join(", ")} (${r.provider}, patch ${
        r.patch.join("x")
      })`,
    );
    console.log(`voxel agreement ${(agreement * 100).toFixed(4)}%`);
    console.log("class\tname\tDice");
    dice.forEach((d, c) => {
      if (!Number.isNaN(d)) console.log(`${c}\t${card.classes[c].name}\t${d.toFixed(5)}`);
    });
    const threshold = Number(values.threshold);
    if (agreement < threshold) {
      console.error(`regress: agreement ${(agreement * 100).toFixed(4)}% is below ${(threshold * 100).toFixed(2)}%`);
      Deno.exit(1);
    }
  } catch (e) {
    console.error(`regress: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
