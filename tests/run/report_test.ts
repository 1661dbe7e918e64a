import { join } from "../../lib/core/_std.ts";
import { formatPeakRss, peakRss } from "../../lib/run/report.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, havePython, PYTHON, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";
import { taskArgs } from "../_tasks.ts";

Deno.test("peakRss: a peak (never below the current RSS); formatPeakRss says unknown rather than guess", () => {
  const p = peakRss();
  assert(p !== undefined && p >= Deno.memoryUsage().rss * 0.99, `${p} vs ${Deno.memoryUsage().rss}`);
  assertEquals(formatPeakRss(undefined), "unknown");
  assertEquals(formatPeakRss(1.5 * 2 ** 30), "1.50 GiB");
});

Deno.test({
  name: "--report peak RSS under the scoped task's permissions is within 15% of the kernel's (getrusage of the child)",
  ignore: Deno.build.os !== "linux" || !havePython(["resource", "subprocess"]),
  fn: async () => {
    await using dir = await tempDir();
    const report = join(dir.path, "run.json");
    const model = await tinyModel();
    const cli = [Deno.execPath(), ...taskArgs("siamize")];
    const args = [
      ...cli,
      ...["-i", join(GOLDEN, "phantom.nii.gz"), "-o", join(dir.path, "l.nii.gz"), "-M", model],
      ...["-P", "192x192x128", "-c", "cpu", "-q", "--report", report],
    ];
    // The kernel's figure: ru_maxrss of the waited-for child (KiB on Linux).
    const script = "import resource, subprocess, sys\n" +
      "rc = subprocess.call(sys.argv[1:])\n" +
      "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    const r = await new Deno.Command(PYTHON, { args: ["-c", script, ...args], stderr: "piped" }).output();
    const [rc, kib] = new TextDecoder().decode(r.stdout).trim().split(" ").map(Number);
    assertEquals(rc, 0, new TextDecoder().decode(r.stderr));
    const kernel = kib * 1024;
    const reported = JSON.parse(await Deno.readTextFile(report)).peakRssBytes;
    assert(typeof reported === "number", `peakRssBytes ${reported}`);
    const ratio = reported / kernel;
    assert(Math.abs(ratio - 1) <= 0.15, `reported ${reported} B, kernel ${kernel} B (ratio ${ratio.toFixed(3)})`);
  },
});
