import { join } from "../lib/_std.ts";
import { bidsOutputs, findBidsScans } from "../lib/bids.ts";
import { SIAM_V03 } from "../lib/model_card.ts";
import { readNifti } from "../lib/nifti.ts";
import { labelTableTsv } from "../lib/volumes.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir, writeHead } from "./_fixtures.ts";

const FAST = [
  "-M",
  join(GOLDEN, "analytic.onnx"),
  "--card",
  join(ROOT, "models", "testing", "analytic.json"),
  "-P",
  "64x64x48",
  "-c",
  "cpu",
];

/** 3 subjects, one with 2 sessions, one corrupt file; plus a T2w that T1w runs ignore. */
async function miniBids(root: string): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(
    join(root, "dataset_description.json"),
    JSON.stringify({ Name: "mini", BIDSVersion: "1.9.0" }),
  );
  const put = async (rel: string, seed: number | "corrupt") => {
    const p = join(root, rel);
    await Deno.mkdir(p.slice(0, p.lastIndexOf("/")), { recursive: true });
    if (seed === "corrupt") await Deno.writeFile(p, new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]));
    else await writeHead(p, seed);
  };
  await put("sub-01/anat/sub-01_T1w.nii.gz", 1);
  await put("sub-01/anat/sub-01_T2w.nii.gz", 5);
  await put("sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz", 2);
  await put("sub-02/ses-2/anat/sub-02_ses-2_run-1_T1w.nii.gz", 3);
  await put("sub-03/anat/sub-03_T1w.nii.gz", "corrupt");
}

function tree(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of [...Deno.readDirSync(join(root, prefix))].sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...tree(root, rel));
    else out.push(rel);
  }
  return out;
}

Deno.test("finding scans: subjects, sessions, suffixes, label filters (with or without prefixes)", async () => {
  await using dir = await tempDir();
  await miniBids(dir.path);
  const all = await findBidsScans(dir.path);
  assertEquals(all.map((s) => s.entities), ["sub-01", "sub-02_ses-1", "sub-02_ses-2_run-1", "sub-03"]);
  assertEquals(all[1].session, "1");
  assertEquals((await findBidsScans(dir.path, { participants: ["sub-02"], sessions: ["2"] })).map((s) => s.entities), [
    "sub-02_ses-2_run-1",
  ]);
  assertEquals((await findBidsScans(dir.path, { suffixes: ["T2w"] })).map((s) => s.relative), [
    "sub-01/anat/sub-01_T2w.nii.gz",
  ]);
  assertEquals(
    bidsOutputs("/o", all[2]).dseg,
    "/o/sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_dseg.nii.gz",
  );
  await Deno.remove(join(dir.path, "dataset_description.json"));
  await assertRejects(() => findBidsScans(dir.path), /not a BIDS dataset \(no dataset_description\.json\)/);
});

Deno.test("BIDS App: derivative tree, sidecars, dseg.tsv; corrupt file fails alone; rerun skips; group table", async () => {
  await using dir = await tempDir();
  const ds = join(dir.path, "ds"), out = join(dir.path, "derivatives", "siamize");
  await miniBids(ds);
  const r1 = await runCli(["bids", ds, out, "participant", ...FAST, "-q"]);
  assertEquals(r1.code, 1);
  assert(r1.err.some((l) => l.includes("sub-03_T1w.nii.gz: corrupt or truncated gzip data")), r1.err.join("\n"));
  assertEquals(r1.err[r1.err.length - 1], "siamize: 3 done, 0 skipped, 1 failed");
  assertEquals(tree(out), [
    "dataset_description.json",
    "dseg.tsv",
    "sub-01/anat/sub-01_seg-siam_dseg.json",
    "sub-01/anat/sub-01_seg-siam_dseg.nii.gz",
    "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_dseg.json",
    "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_dseg.nii.gz",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_dseg.json",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_dseg.nii.gz",
  ]);
  const desc = JSON.parse(await Deno.readTextFile(join(out, "dataset_description.json")));
  assertEquals(desc.DatasetType, "derivative");
  assertEquals(desc.GeneratedBy[0].Name, "siamize");
  assert(typeof desc.GeneratedBy[0].Version === "string" && desc.GeneratedBy[0].CodeURL);
  assertEquals(await Deno.readTextFile(join(out, "dseg.tsv")), labelTableTsv(SIAM_V03.classes));
  const side = JSON.parse(await Deno.readTextFile(join(out, "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_dseg.json")));
  assertEquals(side.Sources, ["bids:raw:sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz"]);
  assertEquals(side.Provider, "cpu");
  assertEquals(side.Folds, ["analytic.onnx"]);
  const dseg = await readNifti(join(out, "sub-01/anat/sub-01_seg-siam_dseg.nii.gz"));
  assertEquals(dseg.dims, [36, 40, 32]);
  // Rerun: everything valid is skipped, the corrupt input fails again, nothing rewritten.
  const before = (await Deno.stat(join(out, "sub-01/anat/sub-01_seg-siam_dseg.nii.gz"))).mtime?.getTime();
  const r2 = await runCli(["bids", ds, out, "participant", ...FAST, "-q"]);
  assertEquals(r2.code, 1);
  assertEquals(r2.err[r2.err.length - 1], "siamize: 0 done, 3 skipped, 1 failed");
  assertEquals((await Deno.stat(join(out, "sub-01/anat/sub-01_seg-siam_dseg.nii.gz"))).mtime?.getTime(), before);
  // Group level: one volumes table.
  const g = await runCli(["bids", ds, out, "group", "--participant-label", "01", "02", ...FAST, "-q"]);
  assertEquals(g.code, 0, g.err.join("\n"));
  const rows = (await Deno.readTextFile(join(out, "group_volumes.tsv"))).trim().split("\n");
  assertEquals(rows.length, 4);
  assertEquals(rows.slice(1).map((r) => r.split("\t")[0]), ["sub-01", "sub-02_ses-1", "sub-02_ses-2"]);
});

Deno.test("BIDS App: filters, --tpm probseg with LabelMap, shards, exit codes", async () => {
  await using dir = await tempDir();
  const ds = join(dir.path, "ds");
  await miniBids(ds);
  const out = join(dir.path, "out");
  const r = await runCli(["bids", ds, out, "participant", "--participant_label", "sub-01", "--tpm", ...FAST, "-q"]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const ps = JSON.parse(await Deno.readTextFile(join(out, "sub-01/anat/sub-01_seg-siam_probseg.json")));
  assertEquals(ps.LabelMap["1"], "GM");
  const prob = await readNifti(join(out, "sub-01/anat/sub-01_seg-siam_probseg.nii.gz"), { allow4D: true });
  assertEquals(prob.dims, [36, 40, 32, 18]);
  // Filters that select nothing: exit 18.
  assertEquals((await runCli(["bids", ds, out, "participant", "--participant-label", "99", ...FAST, "-q"])).code, 18);
  // Not a dataset: 66. Bad level: 64.
  assertEquals((await runCli(["bids", join(dir.path, "nope"), out, "participant", ...FAST])).code, 66);
  assertEquals((await runCli(["bids", ds, out, "everyone", ...FAST])).code, 64);
  // Shards 1/2 and 2/2 split subjects 01 and 02's sessions.
  const done: string[][] = [];
  for (const s of ["1/2", "2/2"]) {
    const o = join(dir.path, `sh${s[0]}`);
    const rr = await runCli([
      "bids",
      ds,
      o,
      "participant",
      "--participant-label",
      "01",
      "02",
      "--shard",
      s,
      ...FAST,
      "-q",
    ]);
    assertEquals(rr.code, 0, rr.err.join("\n"));
    done.push(tree(o).filter((p) => p.endsWith("_dseg.nii.gz")));
  }
  assertEquals(done[0], [
    "sub-01/anat/sub-01_seg-siam_dseg.nii.gz",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_dseg.nii.gz",
  ]);
  assertEquals(done[1], ["sub-02/ses-1/anat/sub-02_ses-1_seg-siam_dseg.nii.gz"]);
});
