/**
 * The shipped non-SIAM cards with the same-shaped generated networks of
 * `make-model` (not the small stand-ins of card_pipeline_test.ts): the card
 * and the network must agree on names, layout and sizes.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { join } from "../../lib/core/_std.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { zscoreNonzeroInPlace } from "../../lib/numerics/normalize.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { assert, assertEquals } from "../_assert.ts";
import { runCli, tempDir } from "../_fixtures.ts";
import { quietRuntime } from "../../lib/engine/ort.ts";

quietRuntime(); // no ONNX Runtime telemetry files in the temp folder

Deno.test("hnoseg-xs-brats card + make-model hnoseg-xs: whole volume at an odd size, labels = argmax of the network", async () => {
  await using dir = await tempDir();
  const model = join(dir.path, "hnoseg.onnx");
  await makeModel("hnoseg-xs", model, false, 3);
  const [nx, ny, nz] = [37, 30, 23];
  const n = nx * ny * nz;
  const affine = [[-1, 0, 0, 18], [0, -1.25, 0, 15], [0, 0, 1.5, -11], [0, 0, 0, 1]];
  const channels: Float32Array[] = [];
  const paths: string[] = [];
  for (const [c, name] of ["t1c", "t1n", "t2f", "t2w"].entries()) {
    const d = new Float32Array(n);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let x = 0; x < nx; x++) {
          const r = Math.hypot((x - 18) / 15, (y - 15) / 12, (z - 11) / 9);
          const lesion = Math.hypot(x - 22, y - 13, z - 12) < 4;
          if (r < 1) {
            d[x + nx * (y + ny * z)] = 200 + 30 * c + (lesion ? 150 * (c - 1.5) : 0) + ((x * 5 + y * 3 + z) % 7);
          }
        }
      }
    }
    channels.push(d);
    const p = join(dir.path, `s_${name}.nii.gz`);
    await writeNifti(p, makeVolume(d, [nx, ny, nz], affine));
    paths.push(p);
  }
  const out = join(dir.path, "seg.nii.gz");
  const r = await runCli([
    "--card",
    "hnoseg-xs-brats",
    "-i",
    paths.join(","),
    "-o",
    out,
    "-M",
    model,
    "-c",
    "cpu",
    "-q",
  ]);
  assertEquals(r.err, []);
  assertEquals(r.code, 0);
  const seg = await readNifti(out);
  assertEquals(seg.dims, [nx, ny, nz]);
  assertEquals(seg.affine, affine);
  // Reference: the network run directly on the card's input, (1, 4, x, y, z), each channel z-scored over its non-zero voxels.
  const x = new Float32Array(4 * n);
  channels.forEach((d, c) => {
    const v = Float32Array.from(d);
    zscoreNonzeroInPlace(v);
    for (let z = 0; z < nz; z++) {
      for (let y = 0; y < ny; y++) {
        for (let i = 0; i < nx; i++) x[c * n + (i * ny + y) * nz + z] = v[i + nx * (y + ny * z)];
      }
    }
  });
  const session = await ort.InferenceSession.create(model);
  const logits = (await session.run({ image: new ort.Tensor("float32", x, [1, 4, nx, ny, nz]) })).logits
    .data as Float32Array;
  await session.release();
  let agree = 0;
  const seen = new Set<number>();
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let i = 0; i < nx; i++) {
        const k = (i * ny + y) * nz + z;
        let best = 0;
        for (let c = 1; c < 4; c++) if (logits[c * n + k] > logits[best * n + k]) best = c;
        const got = seg.data[i + nx * (y + ny * z)];
        seen.add(got);
        if (got === best) agree++;
      }
    }
  }
  assertEquals(agree, n, `${n - agree} voxels differ from the network's argmax`);
  assert(seen.size >= 2, "a seeded network still separates some voxels");
});
