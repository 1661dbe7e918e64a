import denoJson from "../../deno.json" with { type: "json" };
import { join } from "../../lib/core/_std.ts";
import { assert } from "../_assert.ts";
import { ROOT } from "../_fixtures.ts";

/** Whether `path` (relative to the checkout) is under one of deno.json's `publish.include` entries. */
function published(path: string): boolean {
  const inc: string[] = denoJson.publish.include;
  const exc: string[] = denoJson.publish.exclude;
  const under = (list: string[]) => list.some((e) => e.endsWith("/") ? path.startsWith(e) : path === e);
  return under(inc) && !under(exc);
}

Deno.test("dcm2niix's licence text (with its bundled libraries') is in the repository and in the published package", async () => {
  const rel = "licenses/dcm2niix.txt";
  assert(published(rel), `${rel} is not in deno.json's publish.include`);
  const text = await Deno.readTextFile(join(ROOT, rel));
  assert(/Copyright \(c\) 2014-20\d\d Chris Rorden/.test(text), "dcm2niix's copyright notice");
  assert(/Redistributions in binary form must reproduce/.test(text), "the BSD conditions");
  for (const lib of ["OpenJPEG", "CharLS", "NanoJPEG"]) assert(text.includes(lib), `${lib}'s licence`);
  const interop = await Deno.readTextFile(join(ROOT, "docs", "interop.md"));
  assert(interop.includes(rel), "docs/interop.md points to the licence");
});
