/**
 * `PromptTab` (SAMRI in the tab) is `lib/prompt/`'s chain over bytes: on
 * onnxruntime-node's opener its box mask on a slice of a 3-D scan is
 * exactly `siamize prompt --slice --box`'s file; a second prompt on the
 * same slice runs the decoder only; a slice of one value, a box outside
 * the slice, an unknown format and networks too large for a tab are
 * refused in one line.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { openGraph } from "../../lib/engine/ort_graph.ts";
import { parseNifti, readNifti } from "../../lib/io/nifti.ts";
import { PromptTab } from "../../lib/web/prompt_tab.ts";
import { makeModel } from "../../scripts/builders/make_model.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { runCli, withEnv } from "../_fixtures.ts";
import { writeBratsScans } from "./_tab.ts";

Deno.test("PromptTab: a box on a slice of a 3-D scan gives siamize prompt's mask; the next prompt runs the decoder only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siamize-prompt-tab-" });
  try {
    await makeModel("sam-tiny", join(dir, "sam.onnx"), false, 3);
    const enc = join(dir, "sam_encoder.onnx"), dec = join(dir, "sam_decoder.onnx");
    const [scan] = await writeBratsScans(dir);
    const pick = async (p: string) => ({ name: p.split("/").pop()!, bytes: await Deno.readFile(p) });
    const tab = await PromptTab.open(await pick(enc), await pick(dec), { open: openGraph, encoderCompute: "cpu" });
    try {
      const input = await tab.load(await pick(scan), { axis: 2, index: 18 });
      assertEquals([input.slice.height, input.slice.width], [40, 48]);
      const box: [number, number, number, number] = [10, 8, 34, 30];
      const a = await tab.predict({ box });
      assert(a.encoded && a.seconds.encoder > 0);
      const b = await tab.predict({ points: [{ x: 20, y: 15 }] });
      assert(!b.encoded);
      assertEquals([tab.encoderRuns, tab.decoderRuns], [1, 2]);
      const mine = await parseNifti("tab.nii.gz", await tab.maskNifti(a));
      const out = join(dir, "cli.nii.gz");
      await withEnv({ SIAMIZE_CACHE_DIR: join(dir, "cache") }, async () => {
        const r = await runCli([
          "prompt",
          "-i",
          scan,
          "--slice",
          "2:18",
          "--box",
          ...box.map(String),
          "-M",
          `${enc},${dec}`,
          "-o",
          out,
          "-q",
        ]);
        assertEquals(r.code, 0, r.err.join("\n"));
      });
      const cli = await readNifti(out);
      assertEquals(mine.dims, cli.dims);
      assertEquals(mine.affine, cli.affine);
      assertEquals(Array.from(mine.data), Array.from(cli.data));
      let set = 0;
      for (const v of mine.data) set += v;
      assert(set > 0 && set < 40 * 48, `${set} voxels set`);
      // Refusals, one line each.
      await assertRejects(() => tab.predict({ box: [10, 8, 60, 30] }), /box|outside|48/);
      await assertRejects(
        async () => tab.load(await pick(scan), { axis: 2, index: 0 }),
        /slice 2:0 \(48x40\) holds one value/,
      );
      await assertRejects(
        () => tab.load({ name: "x.bmp", bytes: new Uint8Array(16) }),
        /^x\.bmp: unsupported image format in the tab/,
      );
    } finally {
      await tab.close();
    }
    await assertRejects(
      async () =>
        PromptTab.open(await pick(enc), await pick(dec), { open: openGraph, limits: { wasm: 256 * 2 ** 20 } }),
      /^sam_encoder\.onnx: the SAMRI encoder and decoder .* need about .* of WASM heap, more than a tab's 256\.0 MiB; run them with siamize prompt$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
