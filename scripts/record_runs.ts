/**
 * Records (or checks) the outputs of fixed runs, through the public API only.
 *
 *   deno run -A scripts/record_runs.ts                 run the recorded cases, compare with tests/golden/recorded/
 *   deno run -A scripts/record_runs.ts --write         run them and (re)write tests/golden/recorded/
 *   deno run -A scripts/record_runs.ts --input SCAN --out DIR [--patch ZxYxX]
 *                                                      SIAM-card runs (analytic.onnx: default, spm, upsample,
 *                                                      ensemble) on any scan, full labels and probabilities into DIR
 *   deno run -A scripts/record_runs.ts --compare DIR_A DIR_B
 *                                                      label agreement and max probability difference of two such DIRs
 *
 * @module
 */
import { readVolume, segment, type SegmentOptions, SIAM_V03, writeVolume } from "../mod.ts";
import {
  ANALYTIC,
  CASES,
  compareRecord,
  makeModels,
  makeRecord,
  modelHashes,
  readRecord,
  RECORD_DIR,
  recordPath,
  runCase,
} from "../tests/run/_recorded_cases.ts";

const USAGE = "record_runs.ts [--write] | --input SCAN --out DIR [--patch ZxYxX] | --compare DIR_A DIR_B";

async function withModels<T>(f: (m: Awaited<ReturnType<typeof makeModels>>) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "siamize-recorded-" });
  try {
    return await f(await makeModels(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs every recorded case; writes the records or compares with them. Returns the number of failing cases. */
async function recorded(write: boolean): Promise<number> {
  if (write) await Deno.mkdir(RECORD_DIR, { recursive: true });
  return await withModels(async (m) => {
    let failing = 0;
    for (const c of CASES) {
      const t = performance.now();
      const r = await runCase(c, m);
      const hashes = await modelHashes(c, m);
      const s = ((performance.now() - t) / 1000).toFixed(1);
      if (write) {
        await Deno.writeTextFile(recordPath(c.name), JSON.stringify(makeRecord(c, r, hashes), null, 1) + "\n");
        console.log(`${c.name}: recorded (${s} s)`);
      } else {
        const problems = compareRecord(await readRecord(c.name), r, hashes);
        if (problems.length) failing++;
        console.log(problems.length ? problems.join("\n") : `${c.name}: same (${s} s)`);
      }
    }
    return failing;
  });
}

/** SIAM-card runs on any scan: full labels and probabilities into `out`. */
async function scanRuns(input: string, out: string, patch?: string): Promise<void> {
  await Deno.mkdir(out, { recursive: true });
  await withModels(async (m) => {
    const base: SegmentOptions = { card: SIAM_V03, models: ANALYTIC, tpm: true, compute: "cpu", download: false };
    if (patch) base.patch = patch;
    const runs: [string, SegmentOptions][] = [
      ["siam_default", {}],
      ["siam_spm", { classes: "spm" }],
      ["siam_upsample", { upsample: true }],
      ["siam_ensemble", { models: [ANALYTIC, m.tiny] }],
    ];
    const meta: { [name: string]: unknown } = { input, patch: patch ?? "card default" };
    for (const [name, extra] of runs) {
      const t = performance.now();
      const r = await segment(input, { ...base, ...extra });
      await writeVolume(`${out}/${name}.labels.nii.gz`, r.labels, { datatype: "uint8", intentCode: 1002 });
      await writeVolume(`${out}/${name}.tpm.nii.gz`, r.probabilities!);
      const s = (performance.now() - t) / 1000;
      meta[name] = { seconds: +s.toFixed(1), patch: r.patch, tiles: r.tiles, labels: r.labels.dims };
      console.log(`${name}: ${r.labels.dims.join("x")} labels, patch ${r.patch.join("x")}, ${s.toFixed(1)} s`);
    }
    await Deno.writeTextFile(`${out}/runs.json`, JSON.stringify(meta, null, 1) + "\n");
  });
}

/** Label agreement and max probability difference of two `--out` folders. Returns the number of differing runs. */
async function compareDirs(a: string, b: string): Promise<number> {
  let differing = 0;
  const names = [...Deno.readDirSync(a)].map((e) => e.name).filter((n) => n.endsWith(".labels.nii.gz")).sort();
  if (!names.length) throw new Error(`${a}: no *.labels.nii.gz`);
  for (const name of names) {
    const stem = name.slice(0, -".labels.nii.gz".length);
    const [la, lb] = await Promise.all([readVolume(`${a}/${name}`), readVolume(`${b}/${name}`)]);
    let line: string;
    if (JSON.stringify(la.dims) !== JSON.stringify(lb.dims)) {
      line = `labels dims ${la.dims} vs ${lb.dims}`;
      differing++;
    } else {
      let diff = 0;
      for (let i = 0; i < la.data.length; i++) if (la.data[i] !== lb.data[i]) diff++;
      const affine = JSON.stringify(la.affine) === JSON.stringify(lb.affine) ? "" : ", AFFINES DIFFER";
      line = `labels ${diff} of ${la.data.length} voxels differ (${
        (100 * (1 - diff / la.data.length)).toFixed(4)
      }% agree)${affine}`;
      if (diff || affine) differing++;
    }
    const tpm = `${stem}.tpm.nii.gz`;
    try {
      const [pa, pb] = await Promise.all([
        readVolume(`${a}/${tpm}`, { allow4D: true }),
        readVolume(`${b}/${tpm}`, { allow4D: true }),
      ]);
      if (JSON.stringify(pa.dims) !== JSON.stringify(pb.dims)) {
        line += `; probability dims ${pa.dims} vs ${pb.dims}`;
        differing++;
      } else {
        let worst = 0;
        for (let i = 0; i < pa.data.length; i++) worst = Math.max(worst, Math.abs(pa.data[i] - pb.data[i]));
        line += `; probabilities max |diff| ${worst.toExponential(2)}`;
        if (worst > 1e-5) differing++;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    console.log(`${stem}: ${line}`);
  }
  return differing;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const flag = (f: string) => {
    const i = args.indexOf(f);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined) throw new Error(`${f} needs a value (${USAGE})`);
    return v;
  };
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
  } else if (args[0] === "--compare") {
    if (args.length !== 3) throw new Error(USAGE);
    Deno.exit(await compareDirs(args[1], args[2]) ? 1 : 0);
  } else if (args.includes("--input")) {
    const input = flag("--input"), out = flag("--out");
    if (!input || !out) throw new Error(USAGE);
    await scanRuns(input, out, flag("--patch"));
  } else {
    const known = new Set(["--write"]);
    const unknown = args.filter((a) => !known.has(a));
    if (unknown.length) throw new Error(`unknown arguments ${unknown.join(" ")} (${USAGE})`);
    const failing = await recorded(args.includes("--write"));
    if (failing) {
      console.error(`${failing} case(s) differ from the records`);
      Deno.exit(1);
    }
  }
}
