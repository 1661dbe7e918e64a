/**
 * `siamize` command line: a drop-in for the C++ siamize's flags.
 *
 * ```sh
 * deno run -A jsr:@neurojson/siamize -i T1.nii.gz -o labels.nii.gz
 * ```
 *
 * @module
 */
import { dirname, resolve } from "./lib/_std.ts";
import { type CliOptions, HELP, parseCli } from "./lib/args.ts";
import { progressPrinter } from "./lib/download.ts";
import { EXIT_FAILURE, SiamizeError, UsageError } from "./lib/errors.ts";
import { errorText, exists, removeTempFiles, writeFileAtomic } from "./lib/fsutil.ts";
import { plannedOutputs, writeOutputs } from "./lib/outputs.ts";
import { buildReport, peakRss, VERSION } from "./lib/report.ts";
import { loadCard } from "./lib/model_card.ts";
import { Segmenter } from "./lib/segment.ts";

/** Where messages go; tests capture them. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  isTty: boolean;
}

const defaultIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  isTty: Deno.stderr.isTerminal(),
};

function fmtSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

async function checkOutput(opts: CliOptions): Promise<void> {
  const out = resolve(opts.output!);
  const planned = plannedOutputs(out, { tpm: opts.tpm, sidecar: !opts.noSidecar, format: opts.format, qc: opts.qc });
  if (resolve(opts.input!) === out) throw new UsageError(`output ${opts.output} is the input`);
  const dir = dirname(out);
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch {
    throw new SiamizeError(`${opts.output}: output folder ${dir} does not exist`, 73);
  }
  if (!st.isDirectory) throw new SiamizeError(`${opts.output}: ${dir} is not a folder`, 73);
  if (!opts.overwrite) {
    for (const p of planned) {
      if (await exists(p)) throw new SiamizeError(`${p}: already exists (use --overwrite to replace it)`, 73);
    }
  }
  if (opts.qc && !opts.qc.toLowerCase().endsWith(".png")) {
    throw new UsageError(`--qc ${opts.qc}: the picture must be a .png file`);
  }
  if (opts.vol && !/\.(csv|tsv|json)$/i.test(opts.vol)) {
    throw new UsageError(`--vol ${opts.vol}: use a .csv, .tsv or .json file`);
  }
  try {
    await Deno.stat(opts.input!);
  } catch (e) {
    throw new SiamizeError(`${opts.input}: cannot read (${errorText(e)})`, 66);
  }
}

/** Runs the CLI with `argv`; returns the exit code (never calls Deno.exit). */
export async function main(argv: string[], io: Io = defaultIo, signal?: AbortSignal): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCli(argv);
  } catch (e) {
    if (e instanceof SiamizeError) {
      io.err(`siamize: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
  if (opts.help) {
    io.out(HELP);
    return 0;
  }
  if (opts.version) {
    io.out(`siamize ${VERSION}`);
    return 0;
  }
  const verbose = (l: string) => opts.verbose && io.err(l);
  const info = (l: string) => !opts.quiet && io.err(l);
  const wall0 = performance.now();
  let lastLine = wall0;
  let segmenter: Segmenter | undefined;
  try {
    await checkOutput(opts);
    segmenter = new Segmenter({
      card: opts.card ? await loadCard(opts.card) : undefined,
      models: opts.models,
      compute: opts.compute,
      gpu: opts.gpu,
      threads: opts.threads,
      patch: opts.patch,
      spacing: opts.spacing,
      upsample: opts.upsample,
      classes: opts.classes,
      tpm: opts.tpm,
      tpmT: opts.tpmT,
      lowmem: opts.lowmem,
      noArena: opts.lowmem || opts.noArena ? true : undefined,
      log: info,
      onDownload: opts.quiet
        ? undefined
        : progressPrinter((t) => Deno.stderr.writeSync(new TextEncoder().encode(t)), io.isTty),
      signal,
      onProgress: (p) => {
        if (opts.quiet) return;
        const label = `fold ${p.fold + 1}/${p.folds} tile ${p.tile}/${p.tiles}`;
        if (io.isTty) Deno.stderr.writeSync(new TextEncoder().encode(`\r${label}${p.tile === p.tiles ? "\n" : ""}`));
        else if (opts.verbose && (p.tile === p.tiles || performance.now() - lastLine > 5000)) {
          lastLine = performance.now();
          io.err(`${new Date().toISOString()} ${label}`);
        }
      },
    });
    verbose(`input ${opts.input}`);
    verbose(`models ${segmenter.models.map((m) => m.path).join(", ")}`);
    verbose(`patch ${segmenter.patch.join("x")}, threads ${segmenter.threads}`);
    const r = await segmenter.segment(opts.input!);
    const g = r.geometry;
    verbose(`crop box (z,y,x) ${g.box.map(([a, b]) => `${a}:${b}`).join(", ")} -> ${g.cropped.join("x")}`);
    verbose(`spacing (z,y,x) ${g.spacing.map((s) => s.toFixed(3)).join(", ")} -> resampled ${g.resampled.join("x")}`);
    if (g.nonFinite) verbose(`${g.nonFinite} non-finite voxels (NaN/Inf) treated as 0`);
    verbose(`provider ${r.provider}, ${r.tiles} tiles x ${r.models.length} fold(s)`);
    const tw = performance.now();
    const written = await writeOutputs(opts.output!, r, {
      format: opts.format,
      shuffle: opts.shuffle,
      sidecar: !opts.noSidecar,
      vol: opts.vol,
      qc: opts.qc,
      inputName: opts.input,
      card: segmenter.card,
    });
    const writeSeconds = (performance.now() - tw) / 1000;
    const wall = (performance.now() - wall0) / 1000;
    const t = r.timings;
    verbose(
      `times: read ${fmtSeconds(t.read)}, load ${fmtSeconds(t.load)}, preprocess ${fmtSeconds(t.preprocess)}, ` +
        `inference ${fmtSeconds(t.inference)}, postprocess ${fmtSeconds(t.postprocess)}, write ${
          fmtSeconds(writeSeconds)
        }, ` +
        `total ${fmtSeconds(wall)}; peak RSS ${(peakRss() / 2 ** 30).toFixed(2)} GiB`,
    );
    if (opts.report) {
      const rep = buildReport(opts.input!, written, r, writeSeconds, wall);
      await writeFileAtomic(opts.report, new TextEncoder().encode(JSON.stringify(rep, null, 2) + "\n"));
      verbose(`report ${opts.report}`);
    }
    info(`wrote ${written.join(", ")} (${fmtSeconds(wall)}, ${r.provider})`);
    return 0;
  } catch (e) {
    if (e instanceof SiamizeError) {
      io.err(`siamize: ${e.message}`);
      return e.exitCode;
    }
    if (signal?.aborted) {
      io.err(`siamize: interrupted`);
      return 130;
    }
    io.err(`siamize: ${errorText(e)}`);
    if (opts.verbose && e instanceof Error && e.stack) io.err(e.stack);
    return EXIT_FAILURE;
  } finally {
    await segmenter?.close();
  }
}

if (import.meta.main) {
  const ctl = new AbortController();
  let code = 0;
  const stop = (sig: "SIGINT" | "SIGTERM") => () => {
    code = sig === "SIGINT" ? 130 : 143;
    removeTempFiles();
    if (ctl.signal.aborted) Deno.exit(code);
    ctl.abort(new SiamizeError(`interrupted (${sig})`, code));
  };
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGINT", stop("SIGINT"));
    Deno.addSignalListener("SIGTERM", stop("SIGTERM"));
  }
  const rc = await main(Deno.args, defaultIo, ctl.signal);
  removeTempFiles();
  Deno.exit(code || rc);
}
