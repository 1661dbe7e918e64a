import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { CH2, haveFile, ROOT } from "../_fixtures.ts";

Deno.test({
  name: "examples/notebook.ipynb: the code cells run in order",
  ignore: !haveFile(CH2),
  fn: async () => {
    const nb = JSON.parse(await Deno.readTextFile(join(ROOT, "examples", "notebook.ipynb")));
    assertEquals(nb.metadata.kernelspec.name, "deno");
    const cells: string[] = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code").map((
      c: { source: string[] },
    ) => c.source.join(""));
    assert(cells.length >= 5);
    // One module, cells in order, beside the notebook so its relative imports resolve.
    const path = join(ROOT, "examples", `.notebook_run_${Deno.pid}.ts`);
    await Deno.writeTextFile(path, cells.map((c, k) => `// --- cell ${k + 1}\n${c}\n`).join("\n"));
    try {
      const r = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", path], stdout: "piped", stderr: "piped" })
        .output();
      const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
      assert(r.success, err);
      assert(out.includes("[ 181, 217, 181 ]"), out);
      assert(/QC picture: \d+ bytes/.test(out), out);
      assert(out.includes("| 1 | gray matter |"), out);
      // the prompt cell: golden case ch2_axial_k080 is this very slice and box (39,277 pixels with box + point; box alone here)
      assert(/prompt mask: \d+ of 217x181 pixels, score \d/.test(out), out);
    } finally {
      await Deno.remove(path);
    }
  },
});
