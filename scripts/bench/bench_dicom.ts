/**
 * The `dicom` bench case: a generated 256x256x180 axial int16 series (one
 * file per slice) converted inside this process by dcm2niix's WASM build
 * (lib/io/dicom.ts), against reading the same volume as .nii and .nii.gz.
 * The first conversion includes loading the WASM module; the median is of
 * the runs after it (one instance reused, as in a batch). The same series
 * as a deflated `.zip` (read in memory, entries inflated one at a time).
 *
 * @module
 */
import { readDicom } from "../../lib/io/dicom.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { defaultHeader } from "../../lib/io/volume.ts";
import { median, time } from "./_common.ts";
import { type SeriesSpec, sourceVolume, writeSeries } from "../../tests/io/_dicom_writer.ts";
import { zipFolder } from "../../tests/io/_zip_writer.ts";

/** Table lines of the `dicom` case (`runs` conversions after the first). */
export async function benchDicom(runs: number): Promise<string[]> {
  const dims = [256, 256, 180];
  const stored = new Int16Array(dims[0] * dims[1] * dims[2]);
  for (let i = 0; i < stored.length; i++) stored[i] = ((i * 2654435761) >>> 20) - 2048;
  const spec: SeriesSpec = {
    stored,
    dims,
    affine: [[-0.9, 0, 0, 115], [0, 0.9, 0, -115], [0, 0, 1, -90], [0, 0, 0, 1]],
    slope: 1,
    intercept: -1024,
    seriesNumber: 2,
    description: "bench 180 slices",
    uid: "1.2.826.0.1.3680043.9.7777.180",
  };
  const dir = await Deno.makeTempDir({ prefix: "siamize-bench-dicom-" });
  try {
    await writeSeries(dir, spec);
    const nii = `${dir}.nii`, niigz = `${dir}.nii.gz`, zip = `${dir}.zip`;
    await zipFolder(dir, zip);
    const vol = sourceVolume(spec, defaultHeader());
    await writeNifti(nii, vol, { datatype: "int16", gzip: false });
    await writeNifti(niigz, vol, { datatype: "int16" });
    const [first] = await time(() => readDicom(dir));
    const conv: number[] = [], zipped: number[] = [], plain: number[] = [], gz: number[] = [];
    for (let i = 0; i < runs; i++) {
      conv.push((await time(() => readDicom(dir)))[0]);
      zipped.push((await time(() => readDicom(zip)))[0]);
      plain.push((await time(() => readNifti(nii)))[0]);
      gz.push((await time(() => readNifti(niigz)))[0]);
      console.error(`dicom run ${i + 1}/${runs}: ${conv.at(-1)!.toFixed(2)} s`);
    }
    const zipBytes = (await Deno.stat(zip)).size;
    await Deno.remove(nii);
    await Deno.remove(niigz);
    await Deno.remove(zip);
    const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
    return [
      "",
      `DICOM in: 256x256x180 int16 axial series (180 files, ${
        (stored.byteLength / 2 ** 20).toFixed(1)
      } MiB), in one process`,
      "| read | first (loads the WASM) | median of runs | runs |",
      "|---|---|---|---|",
      `| dcm2niix WASM → raw NIfTI → parseNifti | ${ms(first)} | ${ms(median(conv))} | ${runs} |`,
      `| the same from a deflated .zip (${(zipBytes / 2 ** 20).toFixed(1)} MiB) | | ${ms(median(zipped))} | ${runs} |`,
      `| the same volume as .nii (readNifti) | | ${ms(median(plain))} | ${runs} |`,
      `| the same volume as .nii.gz (readNifti) | | ${ms(median(gz))} | ${runs} |`,
    ];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
