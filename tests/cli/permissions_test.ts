import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";

const tasks: Record<string, string> = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks;

function flags(task: string): string[] {
  return task.split(/\s+/).filter((t) => t.startsWith("--allow-"));
}

Deno.test("`deno task siamize` permissions: no -A, env and net scoped", () => {
  const f = flags(tasks.siamize);
  assert(!tasks.siamize.includes(" -A") && !f.includes("--allow-all"));
  assert(
    f.some((x) => x.startsWith("--allow-env=") && x.includes("SIAMIZE_CACHE_DIR") && x.includes("SLURM_ARRAY_TASK_ID")),
  );
  // 127.0.0.1: `siamize view` listens there (it never connects anywhere but neurojson.org).
  assertEquals(f.find((x) => x.startsWith("--allow-net")), "--allow-net=127.0.0.1,neurojson.org");
  // never spawns processes (view does not open a browser; `deno task install` adds a native dcm2niix found at install
  // time, by its path)
  assert(!f.some((x) => x.startsWith("--allow-run")), "never spawns processes");
});

Deno.test("a full segmentation runs with exactly the task's flags, from another working folder", async () => {
  await using dir = await tempDir();
  const out = join(dir.path, "labels.nii.gz");
  const args = [
    "run",
    ...flags(tasks.siamize),
    "--config",
    join(ROOT, "deno.json"),
    join(ROOT, "cli.ts"),
    "-i",
    join(GOLDEN, "phantom.nii.gz"),
    "-o",
    out,
    "-M",
    join(GOLDEN, "analytic.onnx"),
    "--card",
    join(ROOT, "models", "testing", "analytic.json"),
    "-q",
  ];
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: dir.path, stdout: "piped", stderr: "piped" }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  assertEquals((await readNifti(out)).dims, [80, 60, 90]);
});

Deno.test("`deno task compile` embeds the cards and the worker with the same permissions", () => {
  const c = tasks.compile;
  assert(c.startsWith("deno compile --self-extracting "));
  assertEquals(flags(c), flags(tasks.siamize));
  assert(c.includes("--include models/") && c.includes("--include lib/numerics/argmax_worker.ts"));
  assert(c.endsWith("--output dist/siamize cli.ts"));
});

Deno.test("`deno task install` installs `siamize` with the siamize task's permissions, mirrors added to --allow-net", async () => {
  assertEquals(tasks.install, "deno run --allow-read --allow-env --allow-run scripts/install.ts");
  const { installArgs } = await import("../../scripts/install.ts");
  const plain = installArgs([]);
  assertEquals(plain.slice(0, 5), ["install", "-g", "-f", "-n", "siamize"]);
  assertEquals(plain.slice(plain.indexOf("--config"), plain.indexOf("--config") + 2), [
    "--config",
    join(ROOT, "deno.json"),
  ]);
  assertEquals(flags(plain.join(" ")), flags(tasks.siamize));
  assertEquals(plain.at(-1), join(ROOT, "cli.ts"));
  const mirrored = flags(installArgs(["mirror.example", "127.0.0.1:8080"]).join(" "));
  assertEquals(
    mirrored.find((x) => x.startsWith("--allow-net")),
    "--allow-net=127.0.0.1,neurojson.org,mirror.example,127.0.0.1:8080",
  );
  assertEquals(
    mirrored.filter((x) => !x.startsWith("--allow-net")),
    flags(tasks.siamize).filter((x) => !x.startsWith("--allow-net")),
  );
});

Deno.test("resources are found relative to the modules, never the working folder", async () => {
  // Every file the program reads at run time comes from an import (JSON
  // modules) or an import.meta.url-relative URL; no code opens "models/…" by
  // a bare relative path.
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isDirectory) walk(join(dir, e.name));
      else if (e.name.endsWith(".ts")) files.push(join(dir, e.name));
    }
  };
  walk(join(ROOT, "lib"));
  assert(files.length > 40);
  for (const path of files) {
    const src = await Deno.readTextFile(path);
    assert(
      !/Deno\.(readTextFile|readFile|open)\(\s*["'`](\.\/)?models\//.test(src),
      `${path} reads models/ by a cwd-relative path`,
    );
  }
  const card = await Deno.readTextFile(join(ROOT, "lib", "cards", "shipped.ts"));
  assert(card.includes('from "../../models/siam-v0.3.json" with { type: "json" }'));
});
