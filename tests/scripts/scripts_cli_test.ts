import { scriptArgs } from "../../scripts/_cli.ts";
import { assert, assertEquals } from "../_assert.ts";
import { taskCommand } from "../_tasks.ts";

const SCRIPTS = ["fetch-weights", "make-model", "regress", "bench"] as const;

for (const name of SCRIPTS) {
  Deno.test(`deno task ${name}: --help prints usage and exits 0; an unknown option is a one-line usage error (64)`, async () => {
    const h = await taskCommand(name, ["--help"]).output();
    const out = new TextDecoder().decode(h.stdout);
    assertEquals(h.code, 0, new TextDecoder().decode(h.stderr));
    assert(out.startsWith(`${name} `), out);
    const bad = await taskCommand(name, ["--frobnicate"]).output();
    const err = new TextDecoder().decode(bad.stderr).trim();
    assertEquals(bad.code, 64, err);
    assertEquals(err.split("\n").length, 1, err);
    assert(err.startsWith(`${name}: Unknown option '--frobnicate'`) && err.endsWith("(see --help)"), err);
  });
}

Deno.test("scriptArgs: values typed as parseArgs gives them, -h before --, missing values named", () => {
  const calls: string[] = [];
  const o = {
    out: (s: string) => calls.push(`out ${s}`),
    err: (s: string) => calls.push(`err ${s}`),
    exit: (c: number): never => {
      throw new Error(`exit ${c}`);
    },
  };
  const spec = { options: { runs: { type: "string" as const, default: "3" } } };
  assertEquals(scriptArgs("x [--runs N]", spec, { ...o, args: [] }).values.runs, "3");
  let e = "";
  try {
    scriptArgs("x [--runs N]", spec, { ...o, args: ["--runs"] });
  } catch (x) {
    e = (x as Error).message;
  }
  assertEquals(e, "exit 64");
  assert(calls.at(-1)!.startsWith("err x: Option '--runs <value>' argument missing"), calls.at(-1));
  try {
    scriptArgs("x [--runs N]", spec, { ...o, args: ["-h"] });
  } catch (x) {
    e = (x as Error).message;
  }
  assertEquals([e, calls.at(-1)], ["exit 0", "out x [--runs N]"]);
});

Deno.test("deno task bench: an unknown case is a one-line usage error (64) before anything runs", async () => {
  const r = await taskCommand("bench", ["--case", "tiny,nope"]).output();
  const err = new TextDecoder().decode(r.stderr).trim();
  assertEquals(r.code, 64, err);
  assertEquals(err.split("\n").at(-1), "bench: unknown case nope (see --help)");
});

Deno.test("deno task bench --help lists every case --case takes", async () => {
  const { BENCH_CASES, BENCH_USAGE } = await import("../../scripts/bench/bench.ts");
  const words = new Set(BENCH_USAGE.split(/[\s,]+/));
  for (const [c] of BENCH_CASES) assert(words.has(c), `bench --help does not list ${c}`);
  for (const c of ["accumulate", "ct-accumulate", "tta", "step", "folds5", "convtranspose-cpu"]) {
    assert(BENCH_CASES.some(([name]) => name === c), c);
  }
});
