import { join } from "../../lib/core/_std.ts";
import { SiamizeError } from "../../lib/core/errors.ts";
import { tempPathFor } from "../../lib/core/fsutil.ts";
import { OutputSet, removeStaleTemps, STALE_TEMP_MS, TEMP_NAME } from "../../lib/core/staged.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_fixtures.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("output set: nothing appears until commit, then every file at once; temps gone", async () => {
  await using dir = await tempDir();
  const set = new OutputSet();
  await set.add(join(dir.path, "a.nii"), bytes("A"));
  await set.add(join(dir.path, "a.labels.tsv"), bytes("T"));
  assertEquals(names(dir.path).length, 2);
  assert(names(dir.path).every((n) => TEMP_NAME.test(n)), "only temp names before the commit");
  assertEquals(await set.commit(), [join(dir.path, "a.nii"), join(dir.path, "a.labels.tsv")]);
  assertEquals(names(dir.path), ["a.labels.tsv", "a.nii"]);
  assertEquals(Deno.readTextFileSync(join(dir.path, "a.nii")), "A");
});

Deno.test("output set: a file that appeared meanwhile is kept, the set rolled back, exit 73", async () => {
  await using dir = await tempDir();
  const set = new OutputSet();
  await set.add(join(dir.path, "a.nii"), bytes("mine"));
  await set.add(join(dir.path, "b.nii"), bytes("mine"));
  await set.add(join(dir.path, "table.csv"), bytes("mine"), { replace: true });
  Deno.writeTextFileSync(join(dir.path, "b.nii"), "theirs"); // another run got there first
  Deno.writeTextFileSync(join(dir.path, "table.csv"), "rows");
  const e = await assertRejects(() => set.commit(), /b\.nii: appeared while this run was working/);
  assertEquals((e as SiamizeError).exitCode, 73);
  assertEquals(names(dir.path), ["b.nii", "table.csv"], "a.nii rolled back, no temp left");
  assertEquals(Deno.readTextFileSync(join(dir.path, "b.nii")), "theirs");
  assertEquals(Deno.readTextFileSync(join(dir.path, "table.csv")), "rows", "the table is untouched");
  // With overwrite, the set replaces; a replacing file (a table) is committed last.
  const again = new OutputSet({ overwrite: true });
  await again.add(join(dir.path, "table.csv"), bytes("rows+1"), { replace: true });
  await again.add(join(dir.path, "b.nii"), bytes("mine"));
  assertEquals(await again.commit(), [join(dir.path, "b.nii"), join(dir.path, "table.csv")]);
  assertEquals(Deno.readTextFileSync(join(dir.path, "b.nii")), "mine");
  // Discarding a staged set leaves nothing.
  const dropped = new OutputSet();
  await dropped.add(join(dir.path, "c.nii"), bytes("x"));
  await dropped.discard();
  assertEquals(names(dir.path), ["b.nii", "table.csv"]);
});

Deno.test("stale temps: ours older than an hour are removed, fresh ones and other files stay", async () => {
  await using dir = await tempDir();
  const old = tempPathFor(join(dir.path, "labels.nii.gz")), fresh = tempPathFor(join(dir.path, "labels.nii.gz"));
  for (const p of [old, fresh, join(dir.path, ".hidden.tmp"), join(dir.path, "keep.nii")]) {
    Deno.writeTextFileSync(p, "x");
  }
  const past = new Date(Date.now() - STALE_TEMP_MS - 60_000);
  Deno.utimeSync(old, past, past);
  Deno.utimeSync(join(dir.path, ".hidden.tmp"), past, past);
  assertEquals(await removeStaleTemps(dir.path), [old.split("/").pop()]);
  assertEquals(names(dir.path), [".hidden.tmp", fresh.split("/").pop()!, "keep.nii"].sort());
});
