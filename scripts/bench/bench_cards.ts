/**
 * Bench cases for the cards other than SIAM's (used by `scripts/bench.ts`):
 *
 * - `ct-golden`: `--card monai-wholebody-ct` on the golden CT case with its
 *   seeded SegResNet (`tests/golden/monai/`);
 * - `brats-standin`: `--card` hnoseg-xs-brats (padding to even sizes) on a
 *   generated BraTS-size 240x240x155 4-channel case with a 4-in/4-out
 *   ResEnc stand-in (features 4-8), whole volume.
 *
 * Inputs and models are generated into the bench cache on first use.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { ROOT } from "./_common.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { writeNifti } from "../../lib/io/nifti.ts";
import { buildResEncUNet } from "../builders/model_builder.ts";

/** One CLI bench case: input (possibly comma-separated channels), model and extra flags. */
export interface CardCase {
  /** Case name (`--case`). */
  name: string;
  /** `-i` value. */
  input: string;
  /** `-M` value. */
  model: string;
  /** Extra CLI flags (`--card …`). */
  extra: string[];
}

/** Names of the card cases. */
export const CARD_CASES = ["ct-golden", "brats-standin"];

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** A BraTS-size 4-channel case (an ellipsoid "brain" with a lesion) and the stand-in model and card, in `dir`. */
async function bratsCase(dir: string): Promise<CardCase> {
  await Deno.mkdir(dir, { recursive: true });
  const [nx, ny, nz] = [240, 240, 155];
  const names = ["t1c", "t1n", "t2f", "t2w"];
  const paths = names.map((n) => join(dir, `brats_${n}.nii.gz`));
  for (const [c, p] of paths.entries()) {
    if (await exists(p)) continue;
    const d = new Float32Array(nx * ny * nz);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const r = Math.hypot((x - 120) / 70, (y - 120) / 90, (z - 77) / 65);
          const l = Math.hypot(x - 140, y - 100, z - 80) < 20;
          if (r < 1) d[x + nx * (y + ny * z)] = 300 + 50 * c + (l ? 200 * (c - 1.5) : 0) + ((x * 7 + y * 3 + z) % 11);
        }
      }
    }
    const affine = [[-1, 0, 0, 120], [0, -1, 0, 120], [0, 0, 1, -77], [0, 0, 0, 1]];
    await writeNifti(p, makeVolume(d, [nx, ny, nz], affine));
  }
  const model = join(dir, "brats_standin.onnx");
  if (!await exists(model)) {
    const spec = { features: [4, 8], blocks: [1, 1], strides: [[1, 1, 1], [2, 2, 2]] as [number, number, number][] };
    await Deno.writeFile(
      model,
      buildResEncUNet({ ...spec, classes: 4, inChannels: 4, decoderConvs: 1, fp16: false, seed: 3 }).bytes,
    );
  }
  // The stand-in halves once, so its card pads to even sizes (HNOSeg-XS itself takes any size).
  const card = JSON.parse(await Deno.readTextFile(join(ROOT, "models", "hnoseg-xs-brats.json")));
  card.inference.multiple = [2, 2, 2];
  const cardPath = join(dir, "hnoseg-standin.json");
  await Deno.writeTextFile(cardPath, JSON.stringify(card));
  return { name: "brats-standin", input: paths.join(","), model, extra: ["--card", cardPath] };
}

/** The card cases among `cases`, with their inputs generated into `cache`. */
export async function cardCases(cases: string[], cache: string): Promise<CardCase[]> {
  const out: CardCase[] = [];
  const golden = join(ROOT, "tests", "golden", "monai");
  if (cases.includes("ct-golden")) {
    out.push({
      name: "ct-golden",
      input: join(golden, "ct_small.nii.gz"),
      model: join(golden, "segresnet_tiny_seed0.onnx"),
      extra: ["--card", "monai-wholebody-ct"],
    });
  }
  if (cases.includes("brats-standin")) out.push(await bratsCase(join(cache, "brats")));
  return out;
}
