import { assertEquals } from "../_assert.ts";
import { groupChannelFiles } from "../../lib/run/channels.ts";

Deno.test("channels: subjects grouped by suffix; incomplete ones reported", () => {
  const g = groupChannelFiles(
    [
      "/d/BraTS-GLI-00001-000-t1c.nii.gz",
      "/d/BraTS-GLI-00001-000-t2w.nii.gz",
      "/d/BraTS-GLI-00001-000-t1n.nii.gz",
      "/d/BraTS-GLI-00001-000-t2f.nii.gz",
      "/d/sub-02_t1c.nii",
      "/d/sub-02_t1n.nii",
      "/d/notes.nii",
    ],
    ["t1c", "t1n", "t2f", "t2w"],
  );
  assertEquals(g.groups, [{
    subject: "BraTS-GLI-00001-000",
    paths: ["t1c", "t1n", "t2f", "t2w"].map((s) => `/d/BraTS-GLI-00001-000-${s}.nii.gz`),
  }]);
  assertEquals(g.incomplete, ["/d/sub-02: no t2f, t2w channel"]);
  assertEquals(g.unmatched, ["/d/notes.nii"]);
  // BIDS-style suffixes: the longest match wins.
  const b = groupChannelFiles(
    ["/b/sub-01_T1w.nii.gz", "/b/sub-01_ce-gadolinium_T1w.nii.gz", "/b/sub-01_FLAIR.nii.gz", "/b/sub-01_T2w.nii.gz"],
    ["ce-gadolinium_T1w", "T1w", "FLAIR", "T2w"],
  );
  assertEquals(b.groups, [{
    subject: "sub-01",
    paths: [
      "/b/sub-01_ce-gadolinium_T1w.nii.gz",
      "/b/sub-01_T1w.nii.gz",
      "/b/sub-01_FLAIR.nii.gz",
      "/b/sub-01_T2w.nii.gz",
    ],
  }]);
});
