/**
 * `segmentInTab` is the pipeline's own stages over bytes: on the
 * onnxruntime-node backend it gives exactly the labels `segment()` gives
 * for the same card, patch, spacing and model; NIfTI-1, gzipped, and
 * JNIfTI bytes read alike; a model that does not match the card is refused
 * naming it; the download is the labels as NIfTI.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, ROOT } from "../_fixtures.ts";
import { loadCard } from "../../lib/cards/parse.ts";
import { shippedCard } from "../../lib/cards/shipped.ts";
import { ortBackend } from "../../lib/engine/ort.ts";
import { segment } from "../../lib/run/segment.ts";
import { encodeJnifti } from "../../lib/io/jnifti.ts";
import { parseNifti } from "../../lib/io/nifti.ts";
import { labelsNifti, readScanBytes, segmentInTab, type TabStage } from "../../lib/web/segment_tab.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { writeNifti } from "../../lib/io/nifti.ts";
import { writeBratsScans } from "./_tab.ts";

const PHANTOM = join(GOLDEN, "phantom.nii.gz");
const ANALYTIC = join(GOLDEN, "analytic.onnx");
const card = await loadCard(join(ROOT, "models", "testing", "analytic.json"));

Deno.test("segmentInTab on onnxruntime-node equals segment() voxel for voxel; stages and tiles are reported", async () => {
  const scan = { name: "phantom.nii.gz", bytes: await Deno.readFile(PHANTOM) };
  const model = { name: "analytic.onnx", bytes: await Deno.readFile(ANALYTIC) };
  const stages: TabStage[] = [];
  let tiles = 0;
  const tab = await segmentInTab(scan, [model], {
    card,
    backend: ortBackend,
    compute: "cpu",
    patch: "32x32x32",
    spacing: 1.5,
    onStage: (s) => stages.push(s),
    onTile: (p) => tiles = Math.max(tiles, p.tile),
  });
  const cli = await segment(PHANTOM, { card, models: [ANALYTIC], compute: "cpu", patch: "32x32x32", spacing: 1.5 });
  assertEquals(tab.labels.dims, cli.labels.dims);
  assertEquals(tab.labels.affine, cli.labels.affine);
  assertEquals(tab.tiles, cli.tiles);
  assertEquals(tiles, tab.tiles);
  assertEquals(stages, ["read", "plan", "preprocess", "load", "inference", "postprocess"]);
  assertEquals(tab.labels.data, cli.labels.data);
  assert(tab.labels.data.some((v) => v !== 0), "all background");
  assertEquals(tab.provider, "cpu");
  // The download: NIfTI (gzipped) of the same labels.
  const back = await parseNifti("x.nii.gz", await labelsNifti(tab.labels));
  assertEquals(Uint8Array.from(back.data), tab.labels.data);
});

Deno.test("readScanBytes: NIfTI and JNIfTI bytes give the same volume; a model with the wrong classes is refused", async () => {
  const nii = await readScanBytes({ name: "p.nii.gz", bytes: await Deno.readFile(PHANTOM) });
  const bnii = await readScanBytes({ name: "p.bnii", bytes: await encodeJnifti(nii, true) });
  assertEquals(bnii.dims, nii.dims);
  assertEquals(Array.from(bnii.data), Array.from(nii.data));
  const ct = shippedCard("monai-wholebody-ct")!;
  await assertRejects(
    () =>
      segmentInTab({ name: "p.nii.gz", bytes: Deno.readFileSync(PHANTOM) }, [{
        name: "analytic.onnx",
        bytes: Deno.readFileSync(ANALYTIC),
      }], { card: ct, backend: ortBackend, compute: "cpu", patch: "32x32x32", spacing: 3 }),
    /analytic\.onnx: model (takes 1 input channel|has 18 output classes), the .* card has/,
  );
});

Deno.test("segmentInTab: HNOSeg-XS's four channels picked as four files give segment()'s labels; 3 files or two grids are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siamize-tab-hnoseg-" });
  try {
    const model = join(dir, "hnoseg.onnx");
    await makeModel("hnoseg-xs", model, false, 5);
    const paths = await writeBratsScans(dir);
    const hno = shippedCard("hnoseg-xs-brats")!;
    const picked = await Promise.all(
      paths.map(async (p) => ({ name: p.split("/").pop()!, bytes: await Deno.readFile(p) })),
    );
    const m = { name: "hnoseg.onnx", bytes: await Deno.readFile(model) };
    const tab = await segmentInTab(picked, [m], { card: hno, backend: ortBackend, compute: "cpu" });
    const cli = await segment(paths.join(","), { card: hno, models: [model], compute: "cpu" });
    assertEquals(tab.labels.dims, cli.labels.dims);
    assertEquals(tab.labels.affine, cli.labels.affine);
    assertEquals(tab.labels.data, cli.labels.data);
    assert(new Set(tab.labels.data).size > 1, "one label everywhere");
    const o = { card: hno, backend: ortBackend, compute: "cpu" as const };
    await assertRejects(
      () => segmentInTab(picked.slice(0, 3), [m], o),
      /^sub_t1c\.nii\.gz,sub_t1n\.nii\.gz,sub_t2f\.nii\.gz: 3 files; the HNOSeg-XS BraTS card needs 4 \(t1c, t1n, t2f, t2w\)$/,
    );
    const other = join(dir, "other.nii.gz");
    await writeNifti(other, makeVolume(new Float32Array(40 * 48 * 30).fill(1), [40, 48, 30]));
    await assertRejects(
      () => segmentInTab([...picked.slice(0, 3), { name: "other.nii.gz", bytes: Deno.readFileSync(other) }], [m], o),
      /^other\.nii\.gz: grid 40x48x30 differs from sub_t1c\.nii\.gz \(40x48x36\); channels must share one grid$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
