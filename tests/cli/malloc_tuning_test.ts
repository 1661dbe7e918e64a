import { assert, assertEquals } from "../_assert.ts";
import { MALLOC_TUNABLES_VALUE, mallocPlan, mallocTuned, type ProcessFacts } from "../../lib/cli/malloc_tuning.ts";
import { taskArgs, userEnv } from "../_tasks.ts";
import { ROOT } from "../_fixtures.ts";

const base: ProcessFacts = {
  os: "linux",
  environ: ["HOME=/h", "PATH=/bin"],
  thp: "always [madvise] never\n",
  glibc: true,
};

Deno.test("malloc tuning: the plan adds the tunable once and keeps the rest of the environment", () => {
  const p = mallocPlan(base);
  assert(p.exec);
  assertEquals(p.env, ["HOME=/h", "PATH=/bin", `GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`]);
  const other = mallocPlan({ ...base, environ: ["GLIBC_TUNABLES=glibc.malloc.arena_max=2", "A=b=c"] });
  assert(other.exec);
  assertEquals(other.env, ["A=b=c", `GLIBC_TUNABLES=glibc.malloc.arena_max=2:${MALLOC_TUNABLES_VALUE}`]);
  // Already on: no second exec (this is what stops a loop).
  const again = mallocPlan({ ...base, environ: other.env });
  assertEquals(again, { exec: false, why: "on" });
});

Deno.test("malloc tuning: a process counts as tuned (peak estimates scaled) only with exactly our tunables", () => {
  assertEquals(mallocTuned(base), false);
  assertEquals(mallocTuned({ ...base, environ: [`GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`] }), true);
  assertEquals(mallocTuned({ ...base, environ: [`GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`], glibc: false }), false);
  assertEquals(mallocTuned({ ...base, environ: ["GLIBC_TUNABLES=glibc.malloc.hugetlb=1"] }), false);
});

Deno.test("malloc tuning: nothing changes off Linux, without glibc, when turned off, set otherwise, or unreadable", () => {
  assertEquals(mallocPlan({ ...base, os: "darwin" }).exec, false);
  assertEquals(mallocPlan({ ...base, glibc: false }).exec, false);
  assertEquals(mallocPlan({ ...base, environ: [...base.environ, "SIAMIZE_MALLOC_TUNING=0"] }), {
    exec: false,
    why: "off (SIAMIZE_MALLOC_TUNING=0)",
  });
  const user = mallocPlan({ ...base, environ: ["GLIBC_TUNABLES=glibc.malloc.hugetlb=0"] });
  assertEquals(user.exec, false);
  assertEquals(mallocPlan({ ...base, environ: ["GLIBC_TUNABLES=glibc.malloc.trim_threshold=1"] }).exec, false);
  // An environment that does not look like one (a misread table) never reaches execve.
  assertEquals(mallocPlan({ ...base, environ: ["garbage"] }).exec, false);
  assertEquals(mallocPlan({ ...base, environ: [] }).exec, false);
  // Kernel setting unreadable or huge pages off: the heap tunables still pay (madvise is harmless where unsupported).
  assertEquals(mallocPlan({ ...base, thp: undefined }).exec, true);
  assertEquals(mallocPlan({ ...base, thp: "always madvise [never]\n" }).exec, true);
});

const linuxGlibc = Deno.build.os === "linux" && (() => {
  try {
    Deno.dlopen("libc.so.6", { gnu_get_libc_version: { parameters: [], result: "pointer" } }).close();
    return true;
  } catch {
    return false;
  }
})();

async function siamize(args: string[], env: Record<string, string> = {}) {
  // The user's environment without GLIBC_TUNABLES: "on" can then only come from the re-exec.
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs("siamize"), ...args],
    cwd: ROOT,
    clearEnv: true,
    env: { ...userEnv(), ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: r.code, out: d.decode(r.stdout), err: d.decode(r.stderr) };
}

Deno.test({
  name: "malloc tuning: the command re-executes itself with the tunable; arguments, exit status and opt-out survive",
  ignore: !linuxGlibc,
  fn: async () => {
    const on = await siamize(["doctor"]);
    assertEquals(on.code, 0, on.err);
    assert(on.out.includes(`malloc    on (GLIBC_TUNABLES has ${MALLOC_TUNABLES_VALUE};`), on.out);
    const off = await siamize(["doctor"], { SIAMIZE_MALLOC_TUNING: "0" });
    assert(off.out.includes("malloc    off (SIAMIZE_MALLOC_TUNING=0)"), off.out);
    // An argument with a space and the exit status come through the exec unchanged.
    const missing = await siamize(["-i", "/no such dir/t1.nii.gz", "-o", "/no such dir/labels.nii.gz"]);
    assertEquals(missing.code, 66, missing.err);
    assert(missing.err.includes("/no such dir/t1.nii.gz: cannot read"), missing.err);
    assertEquals(missing.err.trim().split("\n").length, 1, missing.err);
  },
});
