import { fromFileUrl, join } from "../../lib/core/_std.ts";
import {
  BIDS_VERSION,
  bidsOutputs,
  checkOutputCollisions,
  findBidsScans,
  rawDatasetLink,
  readDatasetDescription,
} from "../../lib/bids/bids.ts";
import { checkPositionals, expandLabels, splitBidsArgs } from "../../lib/cli/bids_app.ts";
import { BIDS_STANDARD_LABELS } from "../../lib/cards/card.ts";
import { validateCard } from "../../lib/cards/parse.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { VERSION } from "../../lib/run/report.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, sha256Of, tempDir, writeHead } from "../_fixtures.ts";

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

/** sub-01 with T1w and T2w, sub-02 with two sessions, sub-03 corrupt. */
async function miniBids(root: string): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  await Deno.writeTextFile(
    join(root, "dataset_description.json"),
    JSON.stringify({ Name: "mini", BIDSVersion: "1.9.0", License: "CC0", Authors: ["A. Author"] }),
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

const json = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const mtime = async (p: string) => (await Deno.stat(p)).mtime?.getTime();

Deno.test("finding scans and naming outputs: desc-<suffix> per source, collisions refused before work", async () => {
  await using dir = await tempDir();
  await miniBids(dir.path);
  const all = await findBidsScans(dir.path);
  assertEquals(all.map((s) => s.entities), ["sub-01", "sub-02_ses-1", "sub-02_ses-2_run-1", "sub-03"]);
  assertEquals(all[1].session, "1");
  assertEquals((await findBidsScans(dir.path, { participants: ["sub-02"], sessions: ["2"] })).map((s) => s.entities), [
    "sub-02_ses-2_run-1",
  ]);
  const both = await findBidsScans(dir.path, { participants: ["01"], suffixes: ["T1w", "T2w"] });
  assertEquals(both.map((s) => s.relative), ["sub-01/anat/sub-01_T1w.nii.gz", "sub-01/anat/sub-01_T2w.nii.gz"]);
  assertEquals(both.map((s) => bidsOutputs("/o", s).dseg), [
    "/o/sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.nii.gz",
    "/o/sub-01/anat/sub-01_seg-siam_desc-T2w_dseg.nii.gz",
  ]);
  assertEquals(
    bidsOutputs("/o", all[2]).probseg,
    "/o/sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_desc-T1w_probseg.nii.gz",
  );
  checkOutputCollisions("/o", both);
  // The same scan as .nii and .nii.gz: one output name, an error (65) before any work.
  await writeHead(join(dir.path, "sub-01/anat/sub-01_T1w.nii"), 1);
  const dup = await findBidsScans(dir.path, { participants: ["01"] });
  assertThrows(() => checkOutputCollisions("/o", dup), /sub-01_T1w\.nii and .*sub-01_T1w\.nii\.gz would both write/);
  const out = join(dir.path, "out");
  const r = await runCli(["bids", dir.path, out, "participant", "--participant-label", "01", ...FAST, "-q"]);
  assertEquals(r.code, 65);
  assertEquals(r.err.length, 1, r.err.join("\n"));
  await assertRejects(() => Deno.stat(out), /No such file|NotFound|not found/i);
  // Basic dataset checks: 16 when not BIDS, 66 when missing; --skip_bids_validator reads what it can.
  await Deno.writeTextFile(join(dir.path, "dataset_description.json"), "{ not json");
  await assertRejects(() => findBidsScans(dir.path), /not a BIDS dataset \(dataset_description\.json is not JSON\)/);
  assertEquals((await findBidsScans(dir.path, { skipValidation: true })).length, 5);
  await Deno.writeTextFile(join(dir.path, "dataset_description.json"), JSON.stringify({ Name: "x" }));
  await assertRejects(() => readDatasetDescription(dir.path), /has no "BIDSVersion"/);
  await Deno.remove(join(dir.path, "dataset_description.json"));
  await assertRejects(() => findBidsScans(dir.path), /not a BIDS dataset \(no dataset_description\.json\)/);
  assertEquals(await readDatasetDescription(dir.path, { skipValidation: true }), {});
});

Deno.test("model cards map every class to a standard BIDS label (B and L, not Bone and Les)", () => {
  assertEquals(SIAM_V03.classes.map((c) => BIDS_STANDARD_LABELS[c.bids!]), [
    0,
    8,
    2,
    3,
    3,
    11,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    6,
    6,
    4,
    5,
    7,
  ]);
  assertEquals(SIAM_V03.merges!.spm.classes.map((c) => c.bids), ["GM", "WM", "CSF", "B", "ST", "BG"]);
  const bad = structuredClone(SIAM_V03);
  bad.classes[15].bids = "Bone";
  assertThrows(
    () => validateCard(bad, "card.json"),
    /card\.json: .*class "skull": bids "Bone" is not a standard BIDS label/,
  );
});

Deno.test("BIDS App command line: options anywhere, label lists and files, exit codes 16/17/64", async () => {
  await using dir = await tempDir();
  const s1 = splitBidsArgs(["ds", "out", "participant", "--participant_label", "01", "02", "-M", "x", "--tpm"]);
  assertEquals([s1.positionals, s1.participants, s1.rest], [["ds", "out", "participant"], ["01", "02"], [
    "-M",
    "x",
    "--tpm",
  ]]);
  // Options before the positionals: the label list gives back the words the positionals need.
  const s2 = splitBidsArgs(["-M", "x", "--participant-label", "01", "02", "ds", "out", "participant", "-q"]);
  assertEquals([s2.positionals, s2.participants, s2.rest], [["ds", "out", "participant"], ["01", "02"], [
    "-M",
    "x",
    "-q",
  ]]);
  const s3 = splitBidsArgs([
    "ds",
    "--session-label=1,2",
    "--skip_bids_validator",
    "out",
    "--bids-suffix",
    "T1w,T2w",
    "group",
  ]);
  assertEquals([s3.positionals, s3.sessions, s3.suffixes, s3.skipValidator, s3.rest], [
    ["ds", "out", "group"],
    ["1", "2"],
    ["T1w", "T2w"],
    true,
    [],
  ]);
  assertThrows(() => splitBidsArgs(["ds", "out", "participant", "--participant-label"]), /needs at least one label/);
  assertEquals(checkPositionals(["a", "b", "group"]), ["a", "b", "group"]);
  const e17 = assertThrows(() => checkPositionals(["a", "b", "session"]), /unknown analysis level "session"/);
  assertEquals((e17 as unknown as { exitCode: number }).exitCode, 17);
  assertThrows(() => checkPositionals(["a", "b"]), /bids needs BIDS_DIR OUT_DIR/);
  // A label file: one label a line, comments and blanks skipped, with or without sub-.
  const list = join(dir.path, "subjects.txt");
  await Deno.writeTextFile(list, "# who\n01\n\nsub-02\n");
  assertEquals(await expandLabels(["03", list], "--participant-label"), ["03", "01", "sub-02"]);
  await Deno.writeTextFile(list, "01\nnot a label\n");
  await assertRejects(() => expandLabels([list], "--participant-label"), /line 2: "not a label" is not a label/);
  // A secret given by mistake (a token file) is never echoed: only its line and length.
  const token = "ghp_" + "A1b2C3d4".repeat(5);
  await Deno.writeTextFile(list, `${token}\n`);
  const leak = await assertRejects(
    () => expandLabels([list], "--participant-label"),
    /line 1: \(a 44-character value\)/,
  );
  assert(!leak.message.includes("A1b2"), leak.message);
  await Deno.writeTextFile(list, "01\n\u0007bell\n");
  await assertRejects(() => expandLabels([list], "--participant-label"), /line 2: \(a 5-character value\)/);
  await assertRejects(
    () => expandLabels(["/dev/zero"], "--participant-label"),
    /dev\/zero: not a label, .*not a regular file/,
  );
  await assertRejects(
    () => expandLabels([join(dir.path, "none.txt")], "--participant-label"),
    /none\.txt: not a label/,
  );
  // Through the CLI: --version in the BIDS form, unknown level 17, broken dataset 16 unless skipped.
  const { main } = await import("../../cli.ts");
  const out: string[] = [];
  const v = await main(["bids", "--version"], { out: (l) => out.push(l), err: () => {}, isTty: false });
  assertEquals([v, out], [0, [`siamize ${VERSION}`]]);
  const ds = join(dir.path, "ds");
  await miniBids(ds);
  assertEquals((await runCli(["bids", ds, join(dir.path, "o"), "everyone", ...FAST])).code, 17);
  assertEquals((await runCli(["bids", ds, ds, "participant", ...FAST, "-q"])).code, 64);
  await Deno.writeTextFile(join(ds, "dataset_description.json"), "[]");
  const bad = await runCli(["bids", ds, join(dir.path, "o"), "participant", "--participant-label", "99", ...FAST]);
  assertEquals(bad.code, 16);
  assertEquals(bad.err, [`siamize: ${ds}: not a BIDS dataset (dataset_description.json is not an object)`]);
  // Skipped: the run goes on (and here selects nothing: 18).
  const o = join(dir.path, "o");
  const skip = await runCli([
    "bids",
    "--skip_bids_validator",
    "--participant-label",
    "99",
    ...FAST,
    "-q",
    ds,
    o,
    "participant",
  ]);
  assertEquals(skip.code, 18, skip.err.join("\n"));
});

Deno.test("BIDS App: T1w+T2w and sessions give distinct outputs; metadata read back field by field; --tpm rerun adds probseg; group", async () => {
  await using dir = await tempDir();
  const ds = join(dir.path, "raw data"), out = join(dir.path, "derivs", "siamize");
  await miniBids(ds);
  const r1 = await runCli(["bids", ds, out, "participant", "--bids-suffix", "T1w,T2w", ...FAST, "-q"]);
  assertEquals(r1.code, 1);
  assert(r1.err.some((l) => l.includes("sub-03_T1w.nii.gz: corrupt or truncated gzip data")), r1.err.join("\n"));
  assertEquals(r1.err[r1.err.length - 1], "siamize: 4 done, 0 skipped, 1 failed");
  assertEquals(tree(out), [
    ".bidsignore",
    "dataset_description.json",
    "dseg.tsv",
    "README.md",
    "sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.json",
    "sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.nii.gz",
    "sub-01/anat/sub-01_seg-siam_desc-T2w_dseg.json",
    "sub-01/anat/sub-01_seg-siam_desc-T2w_dseg.nii.gz",
    "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.json",
    "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.nii.gz",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_desc-T1w_dseg.json",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_desc-T1w_dseg.nii.gz",
  ]);
  // T1w and T2w of sub-01 are different scans: different results, neither overwritten.
  const t1 = await readNifti(join(out, "sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.nii.gz"));
  const t2 = await readNifti(join(out, "sub-01/anat/sub-01_seg-siam_desc-T2w_dseg.nii.gz"));
  assertEquals(t1.dims, [36, 40, 32]);
  assert(t1.data.some((v, i) => v !== t2.data[i]), "T1w and T2w outputs are identical");

  // dataset_description.json: outside the raw dataset, the link is an escaped file: URL.
  const desc = await json(join(out, "dataset_description.json"));
  assertEquals(Object.keys(desc).sort(), [
    "Authors",
    "BIDSVersion",
    "DatasetLinks",
    "DatasetType",
    "GeneratedBy",
    "License",
    "Name",
    "SourceDatasets",
  ]);
  assertEquals(desc.BIDSVersion, BIDS_VERSION);
  assertEquals(desc.DatasetType, "derivative");
  assertEquals([desc.License, desc.Authors], ["CC0", ["A. Author"]]);
  assertEquals(desc.GeneratedBy.length, 1);
  assertEquals(desc.GeneratedBy[0].Name, "siamize");
  assertEquals(desc.GeneratedBy[0].Version, VERSION);
  assertEquals(desc.GeneratedBy[0].CodeURL, "https://jsr.io/@neurojson/siamize");
  assert(/golden analytic stand-in v1/.test(desc.GeneratedBy[0].Description), desc.GeneratedBy[0].Description);
  assertEquals(desc.SourceDatasets.length, 1);
  const url = desc.SourceDatasets[0].URL as string;
  assert(url.startsWith("file:///") && url.endsWith("/raw%20data") && !url.includes(" "), url);
  assertEquals(fromFileUrl(url), ds);
  assertEquals(desc.DatasetLinks, { raw: url });
  assertEquals(await Deno.readTextFile(join(out, ".bidsignore")), "group_volumes.tsv\n");
  assert((await Deno.readTextFile(join(out, "README.md"))).includes("_seg-siam_desc-<suffix>_dseg.nii.gz"));

  // dseg.tsv: index, name, abbreviation, color, and the integer of the standard BIDS label.
  const card = await json(join(ROOT, "models", "testing", "analytic.json"));
  const rows = (await Deno.readTextFile(join(out, "dseg.tsv"))).trimEnd().split("\n").map((l) => l.split("\t"));
  assertEquals(rows[0], ["index", "name", "abbreviation", "color", "mapping"]);
  assertEquals(rows.length, 19);
  for (const [k, c] of card.classes.entries()) {
    const [index, name, abbreviation, color, mapping] = rows[k + 1];
    assertEquals([index, name, abbreviation], [String(c.index), c.name, c.abbreviation]);
    assert(/^#[0-9a-f]{6}$/.test(color), color);
    assert(/^\d+$/.test(mapping), `mapping "${mapping}" is not an integer`);
    assertEquals(Number(mapping), BIDS_STANDARD_LABELS[c.bids]);
  }
  assertEquals(rows.slice(1).map((r) => Number(r[4])), [0, 8, 2, 3, 3, 11, 9, 9, 9, 9, 9, 9, 9, 6, 6, 4, 5, 7]);

  // Sidecars: Description, Sources and SpatialReference as bids:raw: URIs (DatasetLinks has "raw").
  const side = await json(join(out, "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.json"));
  assertEquals(side.Sources, ["bids:raw:sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz"]);
  assertEquals(side.SpatialReference, "bids:raw:sub-02/ses-1/anat/sub-02_ses-1_T1w.nii.gz");
  assert(typeof side.Description === "string" && side.Description.includes("sub-02_ses-1_T1w.nii.gz"));
  assertEquals([side.Manual, side.Provider], [false, "cpu"]);
  // Provenance: the card (the recipe) and the model files that actually ran, with their hashes.
  assertEquals(side.ModelCard, `${card.name} v${card.version}`);
  assertEquals(side.ModelFiles, [{ Name: "analytic.onnx", SHA256: await sha256Of(join(GOLDEN, "analytic.onnx")) }]);
  assertEquals((await json(join(out, "sub-01/anat/sub-01_seg-siam_desc-T2w_dseg.json"))).Sources, [
    "bids:raw:sub-01/anat/sub-01_T2w.nii.gz",
  ]);

  // Rerun with --tpm: the probseg files were asked for and are missing, so these jobs are not "done";
  // the valid dseg files are kept as they are.
  const dsegT1 = join(out, "sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.nii.gz");
  const before = await mtime(dsegT1);
  const r2 = await runCli(["bids", ds, out, "participant", "--bids-suffix", "T1w,T2w", "--tpm", ...FAST, "-q"]);
  assertEquals(r2.err[r2.err.length - 1], "siamize: 4 done, 0 skipped, 1 failed");
  assertEquals(await mtime(dsegT1), before);
  const probs = tree(out).filter((p) => p.includes("_probseg"));
  assertEquals(probs.length, 8);
  assert(probs.includes("sub-01/anat/sub-01_seg-siam_desc-T2w_probseg.nii.gz"), probs.join("\n"));
  const ps = await json(join(out, "sub-01/anat/sub-01_seg-siam_desc-T1w_probseg.json"));
  assert(Array.isArray(ps.LabelMap), "LabelMap must be an array");
  assertEquals(ps.LabelMap, card.classes.map((c: { abbreviation: string }) => c.abbreviation));
  assertEquals(ps.Sources, ["bids:raw:sub-01/anat/sub-01_T1w.nii.gz"]);
  assertEquals(ps.SpatialReference, "bids:raw:sub-01/anat/sub-01_T1w.nii.gz");
  assert(typeof ps.Description === "string" && ps.Description.includes("LabelMap"));
  const prob = await readNifti(join(out, "sub-01/anat/sub-01_seg-siam_desc-T1w_probseg.nii.gz"), { allow4D: true });
  assertEquals(prob.dims, [36, 40, 32, 18]);
  const n = 36 * 40 * 32;
  for (const v of [0, 12345, n - 1]) {
    let sum = 0;
    for (let c = 0; c < 18; c++) sum += prob.data[v + c * n];
    assert(Math.abs(sum - 1) < 1e-4, `voxel ${v}: probabilities sum to ${sum}`);
  }
  // Now everything asked for is there: skipped.
  const r3 = await runCli(["bids", ds, out, "participant", "--bids-suffix", "T1w,T2w", "--tpm", ...FAST, "-q"]);
  assertEquals(r3.err[r3.err.length - 1], "siamize: 0 done, 4 skipped, 1 failed");

  // Group level from a participant label file; one row per source scan.
  const list = join(dir.path, "participants.txt");
  await Deno.writeTextFile(list, "01\n02\n");
  const g = await runCli(["bids", ds, out, "group", "--participant_label", list, "--bids-suffix", "T1w,T2w", ...FAST]);
  assertEquals(g.code, 0, g.err.join("\n"));
  const table = (await Deno.readTextFile(join(out, "group_volumes.tsv"))).trim().split("\n");
  assertEquals(table.slice(1).map((r) => r.split("\t")[0]), [
    "sub-01_T1w",
    "sub-01_T2w",
    "sub-02_ses-1_T1w",
    "sub-02_ses-2_run-1_T1w",
  ]);
  // A participant output missing: one line naming it, exit 66.
  await Deno.remove(join(out, "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.nii.gz"));
  const gm = await runCli(["bids", ds, out, "group", "--participant-label", "02", ...FAST]);
  assertEquals(gm.code, 66);
  const missing = join(out, "sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.nii.gz");
  assertEquals(gm.err, [`siamize: ${missing}: missing (run the participant level first)`]);
});

Deno.test("BIDS App inside the raw dataset: relative links, filters, shards", async () => {
  await using dir = await tempDir();
  const ds = join(dir.path, "ds");
  await miniBids(ds);
  const out = join(ds, "derivatives", "siamize");
  assertEquals(rawDatasetLink(out, ds), "../..");
  const r = await runCli(["bids", ds, out, "participant", "--participant_label", "sub-01", ...FAST, "-q"]);
  assertEquals(r.code, 0, r.err.join("\n"));
  const desc = await json(join(out, "dataset_description.json"));
  assertEquals([desc.SourceDatasets, desc.DatasetLinks], [[{ URL: "../.." }], { raw: "../.." }]);
  // Filters that select nothing: exit 18. Not a dataset: 66.
  assertEquals((await runCli(["bids", ds, out, "participant", "--participant-label", "99", ...FAST, "-q"])).code, 18);
  assertEquals((await runCli(["bids", join(dir.path, "nope"), out, "participant", ...FAST])).code, 66);
  // Shards 1/2 and 2/2 split subjects 01 and 02's sessions.
  const done: string[][] = [];
  for (const s of ["1/2", "2/2"]) {
    const o = join(dir.path, `sh${s[0]}`);
    const rr = await runCli(["bids", ds, o, "participant", "--participant-label", "01", "02", "--shard", s, ...FAST]);
    assertEquals(rr.code, 0, rr.err.join("\n"));
    done.push(tree(o).filter((p) => p.endsWith("_dseg.nii.gz")));
  }
  assertEquals(done[0], [
    "sub-01/anat/sub-01_seg-siam_desc-T1w_dseg.nii.gz",
    "sub-02/ses-2/anat/sub-02_ses-2_run-1_seg-siam_desc-T1w_dseg.nii.gz",
  ]);
  assertEquals(done[1], ["sub-02/ses-1/anat/sub-02_ses-1_seg-siam_desc-T1w_dseg.nii.gz"]);
});
