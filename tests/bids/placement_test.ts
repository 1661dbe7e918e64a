import { join } from "../../lib/core/_std.ts";
import { EXIT_OUTPUT_IN_RAW, EXIT_OUTPUT_IS_RAW, realPathOf } from "../../lib/bids/placement.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, runCli, tempDir, writeHead } from "../_fixtures.ts";

const FAST = ["-M", join(GOLDEN, "analytic.onnx"), "--card", join(ROOT, "models", "testing", "analytic.json")];

/** Every file under `root` with its bytes, for a byte-identical comparison. */
function snapshot(root: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Deno.readDirSync(join(root, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) Object.assign(out, snapshot(root, rel));
    else if (e.isSymlink) out[rel] = `-> ${Deno.readLinkSync(join(root, rel))}`;
    else out[rel] = Array.from(Deno.readFileSync(join(root, rel))).join(",");
  }
  return out;
}

async function rawDataset(root: string): Promise<void> {
  await Deno.mkdir(join(root, "sub-01", "anat"), { recursive: true });
  await Deno.writeTextFile(
    join(root, "dataset_description.json"),
    JSON.stringify({ Name: "raw", BIDSVersion: "1.9.0" }),
  );
  await writeHead(join(root, "sub-01", "anat", "sub-01_T1w.nii.gz"), 1);
}

Deno.test("BIDS output placement: the dataset through a symlink, its subject folders, another raw dataset: refused, raw bytes kept", async () => {
  await using dir = await tempDir();
  const ds = join(dir.path, "ds"), other = join(dir.path, "other");
  await rawDataset(ds);
  await rawDataset(other);
  await Deno.symlink(ds, join(dir.path, "link"));
  const before = snapshot(dir.path);
  const cases: [string, number, RegExp][] = [
    [join(dir.path, "link"), 64, /the output folder is the BIDS dataset itself/],
    [join(dir.path, "link", "sub-01", "anat"), EXIT_OUTPUT_IN_RAW, /inside the subject folders of the raw dataset/],
    [join(ds, "sub-01", "new", "deeper"), EXIT_OUTPUT_IN_RAW, /inside the subject folders/],
    [other, EXIT_OUTPUT_IS_RAW, /holds a raw BIDS dataset/],
    [join(other, "sub-01"), EXIT_OUTPUT_IN_RAW, /inside the subject folders of the raw dataset .*other/],
  ];
  for (const [out, code, pattern] of cases) {
    for (const level of ["participant", "group"]) {
      const r = await runCli(["bids", ds, out, level, ...FAST, "-q"]);
      assertEquals(r.code, code, `${out} ${level}: ${r.err.join(" | ")}`);
      assertEquals(r.err.length, 1);
      assert(pattern.test(r.err[0]), r.err[0]);
    }
  }
  assertEquals(snapshot(dir.path), before, "nothing written, the raw datasets byte-identical");
  // derivatives/ inside the dataset, through the link too, is where outputs go.
  assertEquals(realPathOf(join(dir.path, "link", "derivatives", "x")), join(Deno.realPathSync(ds), "derivatives", "x"));
  const ok = await runCli(["bids", ds, join(dir.path, "link", "derivatives", "siamize"), "participant", ...FAST, "-q"]);
  assertEquals(ok.code, 0, ok.err.join(" | "));
});
