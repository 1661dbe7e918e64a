import { join } from "../../lib/core/_std.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { MARKER_COLOR, presentClasses, qcImage } from "../../lib/outputs/qc.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";

Deno.test("QC legend lists only the classes present; side markers are drawn", async () => {
  const scan = await readNifti(join(GOLDEN, "phantom.nii.gz"));
  const [nx, ny, nz] = scan.dims;
  const lab = new Uint8Array(nx * ny * nz);
  // Background, GM (1) on one half, CSF (3) on the other: no other class.
  for (let i = 0; i < lab.length; i++) lab[i] = i < nx * ny ? 0 : i % nx < nx / 2 ? 1 : 3;
  const labels = makeVolume(lab, [nx, ny, nz], scan.affine);
  assertEquals(presentClasses(labels, SIAM_V03.classes).map((c) => c.index), [0, 1, 3]);
  const img = qcImage(scan, labels, SIAM_V03.classes);
  let markers = 0;
  for (let i = 0; i < img.data.length; i += 3) {
    if (img.data[i] === MARKER_COLOR[0] && img.data[i + 1] === MARKER_COLOR[1] && img.data[i + 2] === MARKER_COLOR[2]) {
      markers++;
    }
  }
  assert(markers > 100, `${markers} marker pixels`);
  // The legend has two swatches (GM, CSF): rows of legend colours below the title.
  const legendX = img.width - 330 + 4 + 8 + 7; // the middle of the swatch column
  const swatches = new Set<string>();
  for (let y = 0; y < img.height; y++) {
    const o = (y * img.width + legendX) * 3;
    const rgb = [img.data[o], img.data[o + 1], img.data[o + 2]].join(",");
    if (rgb !== "0,0,0") swatches.add(rgb);
  }
  const colors = (k: number) => SIAM_V03.classes[k].color.slice(0, 3).join(",");
  assertEquals([...swatches].sort(), [colors(1), colors(3)].sort());
});
