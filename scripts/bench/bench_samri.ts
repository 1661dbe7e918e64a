/**
 * SAMRI prompt benchmarks (`deno task bench --case samri-tiny,samri-vit-b`):
 * the `sam-tiny` / `sam-vit-b` presets of make-model on the golden axial
 * slice (181x217). Per run, a fresh process opens the two networks and
 * times the encoder on the slice (the first of a process), then on the
 * coronal slice (the next one: what each further slice of a series costs),
 * and the decoder on five prompts (their median), with its peak RSS; then the whole `siamize prompt` process is
 * timed for a second prompt on a slice whose embeddings are cached (the
 * cache filled by one run before). The table gives medians over the runs.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import { Prompter } from "../../lib/prompt/prompter.ts";
import { readPromptInput } from "../../lib/prompt/input.ts";
import { gib, median, peakRss, ROOT } from "./_common.ts";
import { processFacts, tunablesFor } from "../../lib/cli/malloc_tuning.ts";

const SLICES = join(ROOT, "tests", "golden", "samri", "slices");
const SLICE = join(SLICES, "ch2_axial_k080.nii.gz");
/** A second slice, embedded after the first in the same process (the per-slice cost of a series). */
const NEXT = join(SLICES, "ch2_coronal_j130.nii.gz");
const BOXES = [[100, 50, 165, 125], [20, 20, 120, 90], [60, 40, 200, 170], [10, 100, 80, 170], [90, 10, 210, 60]];

interface ChildResult {
  encoder_s: number;
  next_s: number;
  decoder_ms: number;
  peak_rss: number;
}

async function child(enc: string, dec: string, threads: number): Promise<ChildResult> {
  const p = await Prompter.open(SAMRI_VIT_B, { models: { encoder: enc, decoder: dec }, threads });
  const img = await readPromptInput(SLICE);
  let t = performance.now();
  await p.embed(img.slice);
  const encoder_s = (performance.now() - t) / 1000;
  const next = await readPromptInput(NEXT);
  t = performance.now();
  await p.embed(next.slice);
  const next_s = (performance.now() - t) / 1000;
  await p.embed(img.slice);
  await p.releaseEncoder();
  const dms: number[] = [];
  for (const b of BOXES) {
    t = performance.now();
    await p.predict({ box: b as [number, number, number, number] });
    dms.push(performance.now() - t);
  }
  await p.close();
  return { encoder_s, next_s, decoder_ms: median(dms), peak_rss: peakRss() };
}

/**
 * The children run as the `siamize` command does: with glibc's allocator
 * tuned for large buffers (`lib/cli/malloc_tuning.ts`), unless the bench itself
 * runs with `SIAMIZE_MALLOC_TUNING=0` (then neither the children nor the CLI use them);
 * a `GLIBC_TUNABLES` the bench runs with is passed on as it is.
 */
function mallocEnv(): Record<string, string> {
  if (Deno.env.get("SIAMIZE_MALLOC_TUNING") === "0") return {};
  // Set by hand (to compare tunables): kept, as the CLI keeps a GLIBC_TUNABLES that names them.
  return { GLIBC_TUNABLES: Deno.env.get("GLIBC_TUNABLES") ?? tunablesFor(processFacts().thp).join(":") };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<[number, string]> {
  const t = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    env: { ...mallocEnv(), ...env },
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const wall = (performance.now() - t) / 1000;
  const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  if (!r.success) throw new Error(`${args.join(" ")}: ${text}`);
  return [wall, text];
}

/** The SAMRI rows of the bench table for the cases asked for. */
export async function benchSamri(
  cases: string[],
  runs: number,
  threads: number,
  models: (preset: string) => Promise<[string, string]>,
): Promise<string[]> {
  const lines: string[] = [];
  for (const preset of ["sam-tiny", "sam-vit-b"]) {
    if (!cases.includes(`samri-${preset.slice(4)}`)) continue;
    const [enc, dec] = await models(preset);
    const rows: ChildResult[] = [];
    for (let r = 0; r < runs; r++) {
      const [, out] = await run(["run", "-A", import.meta.filename!, "--child", enc, dec, String(threads)]);
      rows.push(JSON.parse(out.trim().split("\n").at(-1)!));
    }
    const cache = await Deno.makeTempDir({ prefix: "siamize-bench-samri-" });
    const cli = (box: number[]) => [
      "run",
      "-A",
      join(ROOT, "cli.ts"),
      "prompt",
      "-i",
      SLICE,
      "-o",
      join(cache, "mask.nii.gz"),
      "--overwrite",
      "-q",
      "--box",
      ...box.map(String),
      "-M",
      `${enc},${dec}`,
      "-t",
      String(threads),
    ];
    const walls: number[] = [];
    try {
      await run(cli(BOXES[0]), { SIAMIZE_CACHE_DIR: cache });
      for (let r = 0; r < runs; r++) walls.push((await run(cli(BOXES[1 + r % 4]), { SIAMIZE_CACHE_DIR: cache }))[0]);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
    if (!lines.length) {
      lines.push(
        `SAMRI prompt (golden axial slice 181x217, then the coronal one; ${threads} threads, CPU; malloc tuning ${
          Object.keys(mallocEnv()).length ? "on" : "off (SIAMIZE_MALLOC_TUNING=0)"
        }), median of ${runs} runs`,
        "| case | encoder, first slice of a process s | encoder, next slice s | decoder per prompt ms | second prompt, cached slice: CLI wall s | peak RSS GiB |",
        "|---|---|---|---|---|---|",
      );
    }
    lines.push(
      `| samri-${preset.slice(4)} | ${median(rows.map((r) => r.encoder_s)).toFixed(2)} | ${
        median(rows.map((r) => r.next_s)).toFixed(2)
      } | ${median(rows.map((r) => r.decoder_ms)).toFixed(0)} | ${median(walls).toFixed(2)} | ${
        gib(median(rows.map((r) => r.peak_rss)))
      } |`,
    );
  }
  return lines;
}

if (import.meta.main && Deno.args[0] === "--child") {
  const [, enc, dec, threads] = Deno.args;
  console.log(JSON.stringify(await child(enc, dec, Number(threads))));
}
