import { assert, assertEquals } from "../_assert.ts";
import { join } from "../../lib/core/_std.ts";
import { generatedModels } from "../../scripts/bench/_common.ts";

Deno.test("bench: generated models live in a folder named after the builders' sources; a change gives a fresh one", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const builders = join(tmp, "builders"), cache = join(tmp, "cache");
    await Deno.mkdir(builders);
    await Deno.writeTextFile(join(builders, "a.ts"), "export const A = 1;\n");
    await Deno.writeTextFile(join(builders, "notes.md"), "not hashed\n");
    await Deno.mkdir(join(cache, "models-000000000000"), { recursive: true });
    await Deno.writeTextFile(join(cache, "input.nii.gz"), "kept");
    await Deno.writeTextFile(join(cache, "tiny.onnx"), "a model of the bench before these folders");
    const first = await generatedModels(cache, builders);
    assert(/[/\\]models-[0-9a-f]{12}$/.test(first), first);
    assertEquals([...Deno.readDirSync(cache)].map((e) => e.name).sort(), ["input.nii.gz", first.split(/[/\\]/).pop()!]);
    await Deno.writeTextFile(join(first, "m.onnx"), "model");
    assertEquals(await generatedModels(cache, builders), first, "same sources, same folder");
    await Deno.writeTextFile(join(builders, "notes.md"), "still not hashed\n");
    assertEquals(await generatedModels(cache, builders), first);
    await Deno.writeTextFile(join(builders, "a.ts"), "export const A = 2;\n");
    const second = await generatedModels(cache, builders);
    assert(second !== first, "a changed builder, a new folder");
    const left = [...Deno.readDirSync(cache)].map((e) => e.name).sort();
    assertEquals(left, ["input.nii.gz", second.split(/[/\\]/).pop()!], "stale model folders removed, inputs kept");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
