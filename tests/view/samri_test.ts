import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { FileRegistry } from "../../lib/view/files.ts";
import { ViewSamri } from "../../lib/view/samri.ts";
import { main } from "../../cli.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { craftNifti, GOLDEN, tempDir } from "../_fixtures.ts";

const MODELS = ["tiny_encoder.onnx", "tiny_decoder.onnx"].map((f) => join(GOLDEN, "samri", "models", f)).join(",");

async function cli(argv: string[]): Promise<{ code: number; err: string[] }> {
  const err: string[] = [];
  const code = await main(argv, { out: () => {}, err: (l) => err.push(l), isTty: false });
  return { code, err };
}

Deno.test({
  name: "view SAMRI: propagate gives `siamize prompt --propagate`'s mask; bad models and slices get the CLI's lines",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    // A short stack (3 slices of 40x30): propagation reaches its end quickly.
    const stack = join(dir.path, "stack.nii");
    const values = Array.from({ length: 40 * 30 * 3 }, (_, i) => {
      const x = i % 40, y = Math.floor(i / 40) % 30;
      return Math.round(1000 * Math.exp(-((x - 20) ** 2 + (y - 15) ** 2) / 60) + ((x * 7 + y * 13) % 11));
    });
    await Deno.writeFile(stack, craftNifti({ datatype: 4, dims: [40, 30, 3], values }));
    const files = new FileRegistry();
    const sam = new ViewSamri(stack, dir.path, files);
    try {
      const missing = join(dir.path, "enc.onnx");
      const want = await cli([
        "prompt",
        "-i",
        stack,
        "--slice",
        "2:1",
        "--box",
        "5",
        "5",
        "25",
        "35",
        "-M",
        `${missing},${missing}`,
        "-o",
        join(dir.path, "x.nii.gz"),
      ]);
      assertEquals(want.err.length, 1);
      const e = await assertRejects(
        () => sam.prompt({ models: `${missing},${missing}`, axis: 2, index: 1, box: [5, 5, 25, 35] }),
        /does not exist/,
      );
      assertEquals(`siamize: ${e.message}`, want.err[0]);
      const outside = await assertRejects(
        () => sam.prompt({ models: MODELS, axis: 2, index: 1, box: [5, 5, 400, 35] }),
        /box/,
      );
      assert(!outside.message.includes("\n"));

      const r = await sam.prompt({ models: MODELS, axis: 2, index: 1, box: [5, 5, 25, 35], propagate: true });
      const out = join(dir.path, "cli.nii.gz");
      const ran = await cli([
        "prompt",
        "-i",
        stack,
        "--slice",
        "2:1",
        "--box",
        "5",
        "5",
        "25",
        "35",
        "--propagate",
        "-M",
        MODELS,
        "-o",
        out,
        "--no-cache",
        "-q",
      ]);
      assertEquals(ran.code, 0, ran.err.join("\n"));
      const page = join(dir.path, "page.nii.gz");
      const m = r.url.match(/^files\/(\d+)\/(.+)$/)!;
      await Deno.copyFile(files.get(m[1], decodeURIComponent(m[2]))!.path, page);
      const a = Array.from((await readNifti(page)).data as ArrayLike<number>);
      const b = Array.from((await readNifti(out)).data as ArrayLike<number>);
      assert(a.every((v, i) => v === b[i]), "propagated masks differ");
      assert(r.slices!.length > 1, `slices ${r.slices}`);
      assertEquals(r.pixels, b.reduce((s, v) => s + v, 0));
    } finally {
      await sam.close();
    }
  },
});
