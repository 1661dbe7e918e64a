/**
 * A program outside the checkout imports `mod.ts` by path, with no deno.json
 * of its own, and runs with exactly the permissions the README names; lib/
 * names its npm packages by full `npm:` specifiers that agree with
 * deno.json's import map.
 *
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, sha256Of } from "../_fixtures.ts";
import { userEnv } from "../_tasks.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { defaultHeader } from "../../lib/io/volume.ts";
import { assertSameImage, type SeriesSpec, sourceVolume, writeSeries } from "../io/_dicom_writer.ts";

/** The `deno run` flags the README's library section names. */
async function readmePermissions(): Promise<string[]> {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const section = readme.split("## Library API")[1].split("\n## ")[0];
  const m = section.replace(/\n/g, " ").match(/`deno run ((?:--allow-[\w=.,:-]+ )+)seg\.ts`/);
  assert(m, "the README's library section names no `deno run … seg.ts` line");
  return m[1].trim().split(" ");
}

Deno.test("README's library snippet imports mod.ts by path and names its permissions", async () => {
  const readme = await Deno.readTextFile(join(ROOT, "README.md"));
  const block = readme.split("## Library API")[1].split("```ts\n")[1].split("```")[0];
  assert(/from "\.\/siamize\/mod\.ts"/.test(block), block);
  assert(!/from "jsr:/.test(block), "the package is not published yet");
  const flags = await readmePermissions();
  assert(!flags.includes("-A") && !flags.includes("--allow-all"), flags.join(" "));
});

Deno.test("a script outside the checkout imports <checkout>/mod.ts by path and segments, with the README's permissions only", async () => {
  // Outside the checkout and any deno.json: the system temp folder.
  const dir = await Deno.makeTempDir({ prefix: "siamize-outside-" });
  try {
    assert(!dir.startsWith(ROOT), dir);
    const mod = join(ROOT, "mod.ts");
    await Deno.writeTextFile(
      join(dir, "seg.ts"),
      `import { loadCard, segment, writeVolume } from ${JSON.stringify(mod)};\n` +
        `const r = await segment(${JSON.stringify(join(GOLDEN, "phantom.nii.gz"))}, {\n` +
        `  models: ${JSON.stringify(join(GOLDEN, "analytic.onnx"))},\n` +
        `  card: await loadCard(${JSON.stringify(join(ROOT, "models", "testing", "analytic.json"))}),\n` +
        `  compute: "cpu",\n});\n` +
        `await writeVolume("labels.nii.gz", r.labels);\n` +
        `console.log(JSON.stringify({ dims: r.labels.dims, sha256: r.modelFiles[0].sha256 }));\n`,
    );
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...await readmePermissions(), "seg.ts"],
      cwd: dir,
      clearEnv: true,
      env: userEnv(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 0, err);
    const out = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").at(-1)!);
    assertEquals(out, { dims: [80, 60, 90], sha256: await sha256Of(join(GOLDEN, "analytic.onnx")) });
    assert((await Deno.stat(join(dir, "labels.nii.gz"))).size > 100);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a script outside the checkout reads a DICOM folder through <checkout>/mod.ts (dcm2niix found without deno.json)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "siamize-outside-dicom-" });
  try {
    assert(!dir.startsWith(ROOT), dir);
    await Deno.mkdir(join(dir, "dicom"));
    const dims = [6, 5, 4];
    const sp: SeriesSpec = {
      stored: Int16Array.from({ length: 6 * 5 * 4 }, (_, i) => (i * 37) % 301 - 150),
      dims,
      affine: [[-1, 0, 0, 3], [0, 1.2, 0, -2], [0, 0, 2, 1], [0, 0, 0, 1]],
      slope: 1,
      intercept: 0,
      seriesNumber: 1,
      description: "outside",
      uid: "1.2.826.0.1.3680043.9.7777.101",
    };
    await writeSeries(join(dir, "dicom"), sp);
    await Deno.writeTextFile(
      join(dir, "read.ts"),
      `import { readVolume, writeVolume } from ${JSON.stringify(join(ROOT, "mod.ts"))};\n` +
        `await writeVolume("vol.nii", await readVolume("dicom"));\n`,
    );
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...await readmePermissions(), "read.ts"],
      cwd: dir,
      clearEnv: true,
      env: userEnv(),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    assertSameImage(await readNifti(join(dir, "vol.nii")), sourceVolume(sp, defaultHeader()));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lib/ imports npm packages only by full npm: specifiers, at deno.json's versions", async () => {
  const imports: Record<string, string> = denoJson.imports;
  const found = new Map<string, Set<string>>(); // specifier → the modules naming it
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts")) {
        const src = await Deno.readTextFile(p);
        for (const m of src.matchAll(/(?:from|import|import\.meta\.resolve)\s*\(?\s*"([^"./][^"]*)"/g)) {
          const spec = m[1];
          if (spec.startsWith("node:")) continue;
          assert(
            spec.startsWith("npm:"),
            `${p}: bare specifier "${spec}" resolves only through the checkout's deno.json`,
          );
          // npm:NAME@VERSION, optionally with a subpath (npm:@scope/pkg@1.0.0/utils).
          const base = spec.match(/^npm:(@?[^@]+)@[^/]+/)?.[0] ?? spec;
          const name = base.slice(4).replace(/@[^@/]+$/, "");
          assertEquals(base, imports[name], `${p}: ${spec} differs from deno.json's ${imports[name]}`);
          found.set(base, (found.get(base) ?? new Set()).add(p));
        }
      }
    }
  };
  await walk(join(ROOT, "lib"));
  // One module per package: each version is written in one module of lib/.
  assertEquals([...found.keys()].sort(), [
    "npm:@cornerstonejs/codec-libjpeg-turbo-8bit@1.2.8",
    "npm:@niivue/dcm2niix@1.2.0",
    "npm:@niivue/niivue@0.69.0",
    "npm:geotiff@3.0.5",
    "npm:onnxruntime-node@1.30.0",
    "npm:onnxruntime-web@1.30.0",
    "npm:protobufjs@8.0.1",
  ]);
  for (const [spec, files] of found) assertEquals(files.size, 1, `${spec} is named in ${[...files].join(", ")}`);
});
