/**
 * The hostile-input test set (issue #20): every case of tests/hostile/_make.ts
 * runs the CLI with the scoped `deno task siamize` permissions in a child
 * process, watched for memory (resident size polled from /proc, killed
 * past 2 GiB) and time (killed past 10 s). Each must end with 64, 65, 66
 * or 73, one stderr line naming the file, and nothing written: no output,
 * no temp file, no folder left behind, no ONNX Runtime litter in TMPDIR.
 */
import { join } from "../../lib/core/_std.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";
import { taskArgs } from "../_tasks.ts";
import { type HostileCase, makeHostileSet } from "./_make.ts";

const MEMORY_CAP = 2 * 2 ** 30;
const TIME_CAP_MS = 10_000;
const PARALLEL = 4;
const MODEL = ["-M", join(GOLDEN, "analytic.onnx"), "--card", join(ROOT, "models", "testing", "analytic.json")];

/** Resident memory of a process in bytes (Linux /proc), or 0 when it cannot be read. */
function rss(pid: number): number {
  try {
    const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface Outcome {
  code: number;
  stderr: string;
  peak: number;
  ms: number;
  killed?: string;
}

async function runCase(c: HostileCase, out: string, tmp: string): Promise<Outcome> {
  const args = [...taskArgs("siamize"), ...c.args.map((a) => a.replace(/^OUT/, out)), ...(c.bare ? [] : MODEL), "-q"];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1", TMPDIR: tmp, ...c.env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const t0 = performance.now();
  let peak = 0, killed: string | undefined;
  const watch = setInterval(() => {
    peak = Math.max(peak, rss(child.pid));
    const over = peak > MEMORY_CAP ? "memory" : performance.now() - t0 > TIME_CAP_MS ? "time" : undefined;
    if (over && !killed) {
      killed = over;
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }
  }, 20);
  const r = await child.output();
  clearInterval(watch);
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr), peak, ms: performance.now() - t0, killed };
}

/** Every path under `dir`, relative. */
function walk(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(dir, prefix))) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    out.push(rel);
    if (e.isDirectory && !e.isSymlink) out.push(...walk(dir, rel));
  }
  return out;
}

Deno.test({
  name: "hostile inputs: each ends in < 10 s and < 2 GiB with 64/65/66/73, one line naming the file, nothing on disk",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const files = join(dir.path, "files"), outs = join(dir.path, "outs"), tmp = join(dir.path, "tmp");
    for (const d of [files, outs, tmp]) await Deno.mkdir(d);
    const cases = await makeHostileSet(files);
    const made = walk(files).filter((p) => !p.startsWith("batch/") && !p.startsWith("folder.nii/"));
    assert(made.length >= 40, `${made.length} hostile files`);
    const before = walk(files).sort();
    const results: [HostileCase, Outcome][] = [];
    for (let k = 0; k < cases.length; k += PARALLEL) {
      const batch = cases.slice(k, k + PARALLEL);
      results.push(
        ...await Promise.all(
          batch.map(async (c) => [c, await runCase(c, join(outs, c.name), tmp)] as [HostileCase, Outcome]),
        ),
      );
    }
    const problems: string[] = [];
    for (const [c, r] of results) {
      const lines = r.stderr.trim().split("\n").filter((l) => l);
      const base = c.names.split("/").pop()!;
      const why = [
        r.killed && `killed for ${r.killed} (peak ${(r.peak / 2 ** 20).toFixed(0)} MiB, ${r.ms.toFixed(0)} ms)`,
        !c.codes.includes(r.code) && `exit ${r.code}, expected ${c.codes.join("/")}`,
        lines.length !== 1 && `${lines.length} stderr lines`,
        !lines[0]?.includes(base) && `the error does not name ${base}`,
        c.secret && r.stderr.includes(c.secret.slice(4, 12)) && "the secret is echoed",
      ].filter(Boolean);
      if (why.length) problems.push(`${c.name}: ${why.join("; ")} — ${lines.join(" | ").slice(0, 300)}`);
    }
    if (Deno.env.get("SIAMIZE_HOSTILE_TIMES")) {
      for (const [c, r] of results) {
        console.log(`${c.name}\t${r.code}\t${r.ms.toFixed(0)} ms\t${(r.peak / 2 ** 20).toFixed(0)} MiB`);
      }
    }
    assertEquals(problems, [], "every case holds");
    assertEquals(walk(outs), [], "no output, temp file or created folder left by any case");
    assertEquals(walk(files).sort(), before, "the inputs untouched (no temp file beside them)");
    assertEquals(walk(tmp), [], "no mat-debug-*.log or .ses in TMPDIR");
  },
});
