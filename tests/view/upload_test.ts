import { join } from "../../lib/core/_std.ts";
import { startViewServer } from "../../lib/view/server.ts";
import { uploadName } from "../../lib/view/upload.ts";
import { readVolume, writeVolume } from "../../lib/io/read.ts";
import { main } from "../../cli.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { craftNifti, GOLDEN, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";

const PHANTOM = join(GOLDEN, "phantom.nii.gz");

/** The CLI's one error line for `-i path`. */
async function cliError(path: string, out: string): Promise<string> {
  const err: string[] = [];
  const model = await tinyModel(); // present: the input is read (and refused) before anything is run
  const code = await main(["-i", path, "-o", out, "-M", model], {
    out: () => {},
    err: (l) => err.push(l),
    isTty: false,
  });
  assert(code !== 0);
  assertEquals(err.length, 1, err.join("\n"));
  return err[0];
}

/** Files under `dir`, recursively (relative paths). */
function tree(dir: string, prefix = ""): string[] {
  return [...Deno.readDirSync(dir)].flatMap((e) =>
    e.isDirectory ? tree(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]
  ).sort();
}

Deno.test("upload names: a plain base name with a volume extension", () => {
  assertEquals(uploadName("scan.nii.gz"), "scan.nii.gz");
  assertEquals(uploadName("C:\\\\Users\\\\me\\\\t1.jnii"), "t1.jnii");
  assertEquals(uploadName("../../etc/x.nii"), "x.nii");
  assertThrows(() => uploadName("notes.txt"), /\.nii, \.nii\.gz, \.jnii or \.bnii/);
  assertThrows(() => uploadName(".."), /not a usable file name/);
  assertThrows(() => uploadName(null), /not a usable file name/);
});

Deno.test({
  name: "uploads: NIfTI-2 and JNIfTI open; a broken file gets the CLI's line, an oversized one 413; nothing kept",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using dir = await tempDir();
    const s = await startViewServer({ scan: PHANTOM, maxUploadBytes: 100_000 });
    try {
      const up = async (kind: string, name: string, body: Uint8Array | ReadableStream<Uint8Array>) => {
        const r = await fetch(`${s.url}api/open?kind=${kind}&name=${encodeURIComponent(name)}`, {
          method: "POST",
          body: body as BodyInit,
        });
        return { status: r.status, body: await r.json() };
      };
      const before = tree(s.tempDir);
      // NIfTI-2, crafted independently of our writer.
      const n2 = craftNifti({
        version: 2,
        datatype: 16,
        dims: [4, 3, 2],
        values: Array.from({ length: 24 }, (_, i) => i),
      });
      const n2path = join(dir.path, "two.nii");
      await Deno.writeFile(n2path, n2);
      const ok = await up("scan", "two.nii", n2);
      assertEquals(ok.status, 200, JSON.stringify(ok.body));
      const state = await (await fetch(`${s.url}api/state`)).json();
      assertEquals(state.scan.name, "two.nii");
      const served = await fetch(`${s.url}${state.scan.url}`);
      assertEquals(new Uint8Array(await served.arrayBuffer()), n2);
      // Labels on it: volumes computed with the card's table.
      const labels = craftNifti({ datatype: 2, dims: [4, 3, 2], values: Array.from({ length: 24 }, (_, i) => i % 3) });
      assertEquals((await up("labels", "l.nii", labels)).status, 200);
      const st2 = await (await fetch(`${s.url}api/state`)).json();
      assertEquals(st2.labels.name, "l.nii");
      assertEquals(st2.volumes.GM_ml, 0.008); // 8 voxels of 1 mm³
      // JNIfTI: served to NiiVue as a NIfTI copy with the same voxels.
      const jnii = join(dir.path, "p.jnii");
      await writeVolume(jnii, await readVolume(n2path));
      const jr = await up("scan", "p.jnii", await Deno.readFile(jnii));
      assertEquals(jr.status, 200, JSON.stringify(jr.body));
      assert(jr.body.opened.url.endsWith("/p.nii"), jr.body.opened.url);
      const copy = join(dir.path, "copy.nii");
      await Deno.writeFile(copy, new Uint8Array(await (await fetch(`${s.url}${jr.body.opened.url}`)).arrayBuffer()));
      assertEquals(Array.from((await readVolume(copy)).data), Array.from({ length: 24 }, (_, i) => i));

      // Broken: the CLI's line for the same file, named as the user named it.
      const broken = join(dir.path, "broken.nii");
      await Deno.writeFile(broken, new Uint8Array(400).fill(7));
      const want = (await cliError(broken, join(dir.path, "o.nii"))).replaceAll(broken, "broken.nii");
      const bad = await up("scan", "broken.nii", await Deno.readFile(broken));
      assertEquals(bad.status, 400);
      assertEquals(bad.body.error, want);
      // Too large: 413 from the declared length, and from the stream when none is declared.
      const huge = await up("scan", "huge.nii", new Uint8Array(100_001));
      assertEquals(huge.status, 413);
      assert(huge.body.error.includes("huge.nii: larger than the upload limit"), huge.body.error);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 30; i++) c.enqueue(new Uint8Array(10_000));
          c.close();
        },
      });
      assertEquals((await up("scan", "streamed.nii", stream)).status, 413);
      // Nothing of the refused uploads is kept; the scan in use is still two.nii.
      const kept = tree(s.tempDir).filter((p) => !before.includes(p));
      assert(kept.every((p) => /^upload\d+\/(two\.nii|l\.nii|p\.jnii|open\d+\/p\.nii)$/.test(p)), kept.join(", "));
      assert(!kept.some((p) => /broken|huge|streamed/.test(p)), kept.join(", "));
    } finally {
      await s.close();
    }
  },
});
