import { removeTempFiles, trackTemp, untrackTemp } from "../../lib/core/fsutil.ts";
import { assert } from "../_assert.ts";
import { haveFile, tempDir } from "../_fixtures.ts";

Deno.test("removeTempFiles removes tracked temp files and scratch folders with their files; untracked ones stay", async () => {
  await using d = await tempDir();
  const file = `${d.path}/.x.tmp`, scratch = `${d.path}/dicom-1`, kept = `${d.path}/kept.tmp`;
  await Deno.writeTextFile(file, "partial");
  await Deno.mkdir(`${scratch}/out`, { recursive: true });
  await Deno.writeTextFile(`${scratch}/out/s1.nii`, "nifti");
  await Deno.writeTextFile(kept, "done");
  trackTemp(file);
  trackTemp(scratch);
  trackTemp(kept);
  untrackTemp(kept);
  removeTempFiles();
  assert(!haveFile(file) && !haveFile(`${scratch}/out/s1.nii`), "tracked files removed");
  let gone = false;
  await Deno.stat(scratch).catch(() => gone = true);
  assert(gone, "the scratch folder is removed with its files");
  assert(haveFile(kept), "an untracked file stays");
});
