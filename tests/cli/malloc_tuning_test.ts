import { assert, assertEquals } from "../_assert.ts";
import {
  MALLOC_TUNABLES_NO_THP_VALUE,
  MALLOC_TUNABLES_VALUE,
  mallocPeakScale,
  mallocPlan,
  mallocStatus,
  mallocTuned,
  type ProcessFacts,
  TUNED_PEAK_SCALE,
} from "../../lib/cli/malloc_tuning.ts";
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
});

Deno.test("malloc tuning: huge pages on request pick the mmap tunables, huge pages off the heap ones", () => {
  const env = (p: ReturnType<typeof mallocPlan>) => p.exec ? p.env.find((e) => e.startsWith("GLIBC_TUNABLES=")) : "";
  assertEquals(env(mallocPlan(base)), `GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`);
  assertEquals(
    env(mallocPlan({ ...base, thp: "[always] madvise never\n" })),
    `GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`,
  );
  // Kernel setting unreadable: hugetlb=1 is harmless where unsupported.
  assertEquals(env(mallocPlan({ ...base, thp: undefined })), `GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`);
  const never = { ...base, thp: "always madvise [never]\n" };
  assertEquals(env(mallocPlan(never)), `GLIBC_TUNABLES=${MALLOC_TUNABLES_NO_THP_VALUE}`);
  // Either set counts as on (no second exec), and says which in doctor.
  for (const value of [MALLOC_TUNABLES_VALUE, MALLOC_TUNABLES_NO_THP_VALUE]) {
    const tuned = { ...base, environ: [`GLIBC_TUNABLES=${value}`] };
    assertEquals(mallocPlan(tuned), { exec: false, why: "on" });
    assert(mallocStatus(tuned).startsWith(`on (GLIBC_TUNABLES has ${value};`), mallocStatus(tuned));
  }
});

Deno.test("malloc tuning: only the heap tunables scale the peak estimate (their freed blocks fragment the heap)", () => {
  assertEquals(mallocPeakScale(base), 1);
  assertEquals(mallocPeakScale({ ...base, environ: [`GLIBC_TUNABLES=${MALLOC_TUNABLES_VALUE}`] }), 1);
  assertEquals(
    mallocPeakScale({ ...base, environ: [`GLIBC_TUNABLES=${MALLOC_TUNABLES_NO_THP_VALUE}`] }),
    TUNED_PEAK_SCALE,
  );
  assertEquals(
    mallocPeakScale({ ...base, environ: [`GLIBC_TUNABLES=${MALLOC_TUNABLES_NO_THP_VALUE}`], glibc: false }),
    1,
  );
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
    const thp = (() => {
      try {
        return Deno.readTextFileSync("/sys/kernel/mm/transparent_hugepage/enabled");
      } catch {
        return undefined;
      }
    })();
    const value = thp?.includes("[never]") ? MALLOC_TUNABLES_NO_THP_VALUE : MALLOC_TUNABLES_VALUE;
    assert(on.out.includes(`malloc    on (GLIBC_TUNABLES has ${value};`), on.out);
    const off = await siamize(["doctor"], { SIAMIZE_MALLOC_TUNING: "0" });
    assert(off.out.includes("malloc    off (SIAMIZE_MALLOC_TUNING=0)"), off.out);
    // An argument with a space and the exit status come through the exec unchanged.
    const missing = await siamize(["-i", "/no such dir/t1.nii.gz", "-o", "/no such dir/labels.nii.gz"]);
    assertEquals(missing.code, 66, missing.err);
    assert(missing.err.includes("/no such dir/t1.nii.gz: cannot read"), missing.err);
    assertEquals(missing.err.trim().split("\n").length, 1, missing.err);
  },
});
