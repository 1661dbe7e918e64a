import { assert, assertEquals } from "../_assert.ts";
import { main } from "../../cli.ts";
import { readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { decodePng } from "../../lib/io/png_decode.ts";
import { encodeGreyPng } from "../../lib/io/png.ts";
import { sliceOf2D } from "../../lib/prompt/slice.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { CASES, GOLDEN, sha256 } from "../prompt/_golden.ts";

const M = `${GOLDEN}models/tiny_encoder.onnx,${GOLDEN}models/tiny_decoder.onnx`;
const AXIAL = CASES.find((c) => c.name === "ch2_axial_k080")!;
const CORONAL = CASES.find((c) => c.name === "ch2_coronal_j130")!;

/** Runs `siamize prompt ARGS` with the weights cache (and so the embeddings cache) in the temp folder. */
async function run(args: string[]): Promise<{ code: number; err: string[]; out: string[] }> {
  const err: string[] = [], out: string[] = [];
  const before = Deno.env.get("SIAMIZE_CACHE_DIR");
  Deno.env.set("SIAMIZE_CACHE_DIR", `${tmp}/cache`);
  try {
    const code = await main(["prompt", ...args], { out: (l) => out.push(l), err: (l) => err.push(l), isTty: false });
    return { code, err, out };
  } finally {
    if (before === undefined) Deno.env.delete("SIAMIZE_CACHE_DIR");
    else Deno.env.set("SIAMIZE_CACHE_DIR", before);
  }
}

async function files(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const tmp = await Deno.makeTempDir({ prefix: "siamize-prompt-" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

/** A 181x181x5 volume: slices 1-3 along axis 2 hold the coronal golden slice (scaled), 0 and 4 are constant. */
async function volume3d(): Promise<string> {
  const s = await readNifti(`${GOLDEN}${CORONAL.input.file}`);
  const n = 181 * 181;
  const data = new Float32Array(n * 5);
  for (const k of [1, 2, 3]) for (let i = 0; i < n; i++) data[k * n + i] = s.data[i] * (k === 2 ? 1 : 1 + 0.05 * k);
  const aff = [[0.5, 0, 0, -10], [0, 0.5, 0, -20], [0, 0, 2, 5], [0, 0, 0, 1]];
  const path = `${tmp}/vol.nii.gz`;
  await writeNifti(path, makeVolume(data, [181, 181, 5], aff));
  return path;
}

Deno.test("prompt: SAMRI's outputs for the golden axial box, then the same slice from the embeddings cache", async () => {
  const out = `${tmp}/axial`;
  const g = AXIAL.prompts.find((p) => p.name === "box")!;
  const box = g.box.map(String);
  const r = await run(["-i", `${GOLDEN}${AXIAL.input.file}`, "-o", out, "--box", ...box, "-M", M, "-t", "2", "-v"]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assertEquals(await files(out), ["ch2_axial_k080_seg_.nii.gz", "ch2_axial_k080_seg_.png"]);
  assert(r.err.some((l) => l === "embeddings computed"), r.err.join("\n"));
  const nii = await readNifti(`${out}/ch2_axial_k080_seg_.nii.gz`);
  const ref = await readNifti(`${GOLDEN}ch2_axial_k080/box/torch_seg_.nii.gz`);
  assertEquals(nii.dims, [1, 181, 217]);
  assertEquals(nii.header.datatype, "uint8");
  assertEquals([nii.header.sformCode, nii.header.qformCode], [ref.header.sformCode, ref.header.qformCode]);
  assertEquals(nii.affine, ref.affine);
  assertEquals([...nii.data], [...ref.data], "mask voxels as SAMRI wrote them");
  const png = await decodePng(await Deno.readFile(`${out}/ch2_axial_k080_seg_.png`), "png");
  const refPng = await decodePng(await Deno.readFile(`${GOLDEN}ch2_axial_k080/box/torch_seg_.png`), "png");
  assertEquals([png.width, png.height, png.channels], [refPng.width, refPng.height, refPng.channels]);
  assertEquals(await sha256(png.data), await sha256(refPng.data), "PNG pixels");
  // a second prompt on the same slice: the decoder only
  const r2 = await run([
    "-i",
    `${GOLDEN}${AXIAL.input.file}`,
    "-o",
    `${tmp}/again.nii.gz`,
    "--box",
    ...box,
    "-M",
    M,
    "-v",
  ]);
  assertEquals(r2.code, 0, r2.err.join("\n"));
  assert(r2.err.some((l) => l === "embeddings from the cache"), r2.err.join("\n"));
  assertEquals([...(await readNifti(`${tmp}/again.nii.gz`)).data], [...ref.data]);
});

Deno.test("prompt: bad prompts and inputs stop with one line, the right code and no output", async (t) => {
  const axial = `${GOLDEN}${AXIAL.input.file}`;
  const vol = await volume3d();
  const flat = `${tmp}/flat.nii.gz`;
  await writeNifti(flat, makeVolume(new Float32Array(30).fill(3), [1, 5, 6]));
  const four = `${tmp}/four.nii.gz`;
  await writeNifti(four, makeVolume(new Float32Array(2 * 3 * 4 * 2), [2, 3, 4, 2]));
  const cases: [string, string[], number, RegExp][] = [
    [
      "box outside",
      ["-i", axial, "--box", "10", "10", "300", "20"],
      64,
      /--box 10 10 300 20: outside the 217x181 image/,
    ],
    ["box inverted", ["-i", axial, "--box", "50", "10", "20", "20"], 64, /--box 50 10 20 20: inverted .* 217x181/],
    ["point outside", ["-i", axial, "--point", "5", "181"], 64, /--point 5 181: outside the 217x181 image/],
    [
      "slice out of range",
      ["-i", vol, "--slice", "2:5"],
      64,
      /vol\.nii\.gz: --slice 2:5 is out of range: axis 2 has 5 slices/,
    ],
    ["3-D without --slice", ["-i", vol], 64, /vol\.nii\.gz: 3-D volume 181x181x5: choose a slice/],
    ["4-D input", ["-i", four], 65, /four\.nii\.gz: 4-D image/],
    [
      "constant slice",
      ["-i", flat],
      65,
      /flat\.nii\.gz: the image \(6x5\) holds one value \(3\); SAMRI would segment an all-zero/,
    ],
    [
      "decoder not SAM's",
      ["-i", axial, "-M", `${GOLDEN}models/tiny_encoder.onnx,${GOLDEN}models/tiny_encoder.onnx`],
      65,
      /decoder inputs input_image do not match the card/,
    ],
    [
      "encoder not SAM's",
      ["-i", axial, "-M", `${GOLDEN}models/tiny_decoder.onnx,${GOLDEN}models/tiny_decoder.onnx`],
      65,
      /tiny_decoder\.onnx: encoder inputs image_embeddings, .* do not match the card samri-vit-b \(input_image\)/,
    ],
    [
      "missing model",
      ["-i", axial, "-M", `${tmp}/nope.onnx,${tmp}/nope2.onnx`],
      66,
      /-M: the encoder .*nope\.onnx does not exist/,
    ],
  ];
  for (const [name, args, code, re] of cases) {
    await t.step(name, async () => {
      const out = `${tmp}/bad-${name.replaceAll(" ", "_")}`;
      const r = await run([...args, "-o", out, ...(args.includes("-M") ? [] : ["-M", M])]);
      assertEquals(r.code, code, r.err.join("\n"));
      assertEquals(r.err.length, 1, r.err.join("\n"));
      assert(re.test(r.err[0]), r.err[0]);
      assertEquals(await Deno.stat(out).then(() => "written", () => "none"), "none");
    });
  }
});

Deno.test("prompt: --slice on a 3-D scan writes the mask on the scan's grid; --propagate follows it; --prompts", async () => {
  const vol = await volume3d();
  const g = CORONAL.prompts.find((p) => p.name === "box")!;
  const box = g.box.map(String);
  const one = `${tmp}/one.nii.gz`;
  const r = await run(["-i", vol, "-o", one, "--slice", "2:2", "--box", ...box, "-M", M]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const src = await readNifti(vol);
  const m = await readNifti(one);
  assertEquals(m.dims, [181, 181, 5]);
  assertEquals(m.affine, src.affine);
  const n = 181 * 181;
  const plane = m.data.slice(2 * n, 3 * n);
  for (const k of [0, 1, 3, 4]) {
    assertEquals(m.data.slice(k * n, (k + 1) * n).some((v) => v !== 0), false, `slice ${k}`);
  }
  // slice 2 is the golden coronal slice: its mask is SAMRI's (rows along axis 0 = columns of the x-fastest plane)
  const rowMajor = new Uint8Array(n);
  for (let r0 = 0; r0 < 181; r0++) for (let c = 0; c < 181; c++) rowMajor[r0 * 181 + c] = plane[r0 + 181 * c];
  assertEquals(await sha256(rowMajor), g.torch.mask_sha256_data);

  const prop = `${tmp}/prop.nii.gz`;
  const p = await run(["-i", vol, "-o", prop, "--slice", "2:2", "--propagate", "--box", ...box, "-M", M]);
  assertEquals(p.code, 0, p.err.join("\n"));
  assert(p.err.some((l) => l === "3 slices segmented (1..3)"), p.err.join("\n"));
  const pm = await readNifti(prop);
  assertEquals([...pm.data.slice(2 * n, 3 * n)], [...plane], "the start slice as with --slice");
  for (const k of [1, 3]) assert(pm.data.slice(k * n, (k + 1) * n).some((v) => v !== 0), `slice ${k} propagated`);
  for (const k of [0, 4]) assertEquals(pm.data.slice(k * n, (k + 1) * n).some((v) => v !== 0), false, `slice ${k}`);

  const pf = `${tmp}/prompts.json`;
  await Deno.writeTextFile(
    pf,
    JSON.stringify([{ slice: "2:2", box: g.box }, { slice: "2:3", box: g.box }, { slice: "2:2", points: [[90, 90]] }]),
  );
  const q = await run(["-i", vol, "-o", `${tmp}/many.nii.gz`, "--prompts", pf, "-M", M, "--no-cache"]);
  assertEquals(q.code, 0, q.err.join("\n"));
  assert(q.err.some((l) => l === "3 prompts on 2 slices (2 embedded, 0 from the cache)"), q.err.join("\n"));
  const many = await readNifti(`${tmp}/many.nii.gz`);
  const values = new Set(many.data);
  assert(values.has(1) || values.has(3), "slice 2 labelled");
  assert(values.has(2), "slice 3 labelled 2");
});

Deno.test("prompt: a grey PNG of the golden axial slice gives SAMRI's mask; a file -o gets that one file", async () => {
  const vol = await readNifti(`${GOLDEN}${AXIAL.input.file}`);
  const { slice } = sliceOf2D(vol, "axial");
  const pngIn = `${tmp}/axial.png`;
  await Deno.writeFile(pngIn, await encodeGreyPng(slice.width, slice.height, Uint8Array.from(slice.data)));
  const g = AXIAL.prompts.find((p) => p.name === "box_point")!;
  const args = ["--box", ...g.box.map(String), "--point", ...g.point!.map(String), "-M", M, "--no-cache"];
  const r = await run(["-i", pngIn, "-o", `${tmp}/from_png.png`, ...args]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const out = await decodePng(await Deno.readFile(`${tmp}/from_png.png`), "out");
  assertEquals(await sha256(out.data.map((v) => (v ? 1 : 0))), g.torch.mask_sha256_data);
  // grey + alpha is refused as SAMRI refuses it
  const la = `${tmp}/la.png`;
  const raw = await encodeGreyPng(4, 2, new Uint8Array([1, 255, 2, 255, 3, 255, 4, 255]));
  raw[19] = 2; // IHDR width 2 …
  raw[25] = 4; // … colour type grey + alpha: the same rows (the CRC is not checked by the decoder)
  await Deno.writeFile(la, raw);
  const bad = await run(["-i", la, "-o", `${tmp}/la_out`, "-M", M]);
  assertEquals(bad.code, 65);
  assert(/la\.png: unsupported channel count 2 \(grey\+alpha\) in a 2x2 PNG/.test(bad.err[0]), bad.err[0]);
});

const IMAGES = `${GOLDEN}../images/`;

Deno.test("prompt: -i slice.tif (the golden axial slice, LZW) writes slice_seg_.nii.gz/png with SAMRI's mask", async () => {
  const tif = `${tmp}/slice.tif`;
  await Deno.copyFile(`${IMAGES}axial_grey8_lzw.tif`, tif);
  const g = AXIAL.prompts.find((p) => p.name === "box_point")!;
  const out = `${tmp}/from_tif`;
  const args = ["--box", ...g.box.map(String), "--point", ...g.point!.map(String), "-M", M, "--no-cache"];
  const r = await run(["-i", tif, "-o", out, ...args]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assertEquals(await files(out), ["slice_seg_.nii.gz", "slice_seg_.png"]);
  const nii = await readNifti(`${out}/slice_seg_.nii.gz`);
  assertEquals(nii.dims, [1, 181, 217]);
  assertEquals(await sha256(Uint8Array.from(sliceOf2D(nii, "m").slice.data)), g.torch.mask_sha256_data);
});

Deno.test("prompt: -i slice.jpg gives the mask of libjpeg-turbo's pixels; broken JPEG/TIFF are exit 65, no output", async () => {
  const jpg = `${tmp}/slice.jpg`;
  await Deno.copyFile(`${IMAGES}axial_grey_q90.jpg`, jpg);
  const ref = `${tmp}/ref_pixels.png`; // libjpeg-turbo's decode of the same file, losslessly
  await Deno.writeFile(ref, await encodeGreyPng(217, 181, await Deno.readFile(`${IMAGES}axial_grey_q90.ref.raw`)));
  const args = ["--box", "60", "50", "150", "130", "-M", M, "--no-cache"];
  const r = await run(["-i", jpg, "-o", `${tmp}/from_jpg`, ...args]);
  assertEquals(r.code, 0, r.err.join("\n"));
  assertEquals(await files(`${tmp}/from_jpg`), ["slice_seg_.nii.gz", "slice_seg_.png"]);
  const r2 = await run(["-i", ref, "-o", `${tmp}/from_ref`, ...args]);
  assertEquals(r2.code, 0, r2.err.join("\n"));
  const a = await readNifti(`${tmp}/from_jpg/slice_seg_.nii.gz`),
    b = await readNifti(`${tmp}/from_ref/ref_pixels_seg_.nii.gz`);
  assertEquals(await sha256(a.data), await sha256(b.data), "the same mask as libjpeg-turbo's pixels");
  assert(a.data.some((v) => v === 1) && a.data.some((v) => v === 0), "a mask, not a blank");
  // a colour 4:2:0 JPEG named .dat: found by content, 8-bit RGB kept
  const dat = `${tmp}/colour.dat`;
  await Deno.copyFile(`${IMAGES}axial_rgb420_q90.jpg`, dat);
  const r3 = await run(["-i", dat, "-o", `${tmp}/colour.nii.gz`, "--no-png", ...args]);
  assertEquals(r3.code, 0, r3.err.join("\n"));
  // broken files: one line naming the file, exit 65, nothing written
  const whole = await Deno.readFile(`${IMAGES}axial_rgb420_q90.jpg`);
  await Deno.writeFile(`${tmp}/cut.jpg`, whole.subarray(0, whole.length >> 1));
  const tif = await Deno.readFile(`${IMAGES}crop_grey8_none.tif`);
  await Deno.writeFile(`${tmp}/cut.tif`, tif.subarray(0, 3000));
  for (
    const [name, want] of [["cut.jpg", /cut\.jpg: corrupt or truncated JPEG data/], ["cut.tif", /cut\.tif: truncated/]]
  ) {
    const bad = await run(["-i", `${tmp}/${name}`, "-o", `${tmp}/bad_out`, ...args]);
    assertEquals(bad.code, 65, bad.err.join("\n"));
    assertEquals(bad.err.length, 1, bad.err.join("\n"));
    assert((want as RegExp).test(bad.err[0]), bad.err[0]);
    assertEquals(await Deno.stat(`${tmp}/bad_out`).then(() => true, () => false), false, "no output");
  }
});
