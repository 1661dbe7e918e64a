/**
 * `siamize web build OUTDIR [--overwrite] [--card FILE …]` writes the static
 * site of the browser build; `siamize web serve DIR [--port N] [--host H]`
 * serves a folder on this machine (127.0.0.1 by default) with the headers
 * that WASM threads need, until Ctrl-C. See `lib/web/site.ts`.
 *
 * @module
 */
import { parseArgs } from "../core/_std.ts";
import { UsageError } from "../core/errors.ts";
import { buildSite, serveSite } from "../web/site.ts";

/** What `siamize web` writes to. */
export interface WebIo {
  /** Standard output lines. */
  out: (line: string) => void;
  /** Standard error lines. */
  err: (line: string) => void;
}

/** `siamize web --help`. */
export const WEB_HELP = `siamize web — the same pipeline in a browser tab (onnxruntime-web; nothing is uploaded)

Usage: siamize web build OUTDIR [--overwrite] [--card FILE …]
       siamize web serve DIR [--port N] [--host 127.0.0.1]

  build    write the static site (index.html, app.js, ort/, niivue.js, cards/) into
           OUTDIR, which must be empty or new (--overwrite replaces it); --card adds
           a card JSON to the page's list. The page script is prebuilt (no bundler runs).
  serve    serve DIR on this machine (default 127.0.0.1, a free port) with the
           cross-origin isolation headers that WASM threads need; Ctrl-C stops it.`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      overwrite: { type: "boolean" },
      card: { type: "string", multiple: true },
      port: { type: "string" },
      host: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/**
 * Runs `siamize web …`; resolves with the exit code. `serve` resolves when
 * `signal` aborts (the CLI never aborts it: Ctrl-C ends the process).
 */
export async function runWeb(argv: string[], io: WebIo, signal?: AbortSignal): Promise<number> {
  let a;
  try {
    a = parse(argv);
  } catch (e) {
    throw new UsageError(`siamize web: ${(e as Error).message.split("\n")[0]}`);
  }
  const [cmd, dir, ...rest] = a.positionals;
  if (a.values.help || cmd === undefined) {
    io.out(WEB_HELP);
    return cmd === undefined && !a.values.help ? 64 : 0;
  }
  if (!dir) throw new UsageError(`siamize web ${cmd}: name a folder (siamize web --help)`);
  if (rest.length) throw new UsageError(`siamize web ${cmd}: unexpected ${rest.join(" ")}`);
  if (cmd === "build") {
    if (a.values.port || a.values.host) throw new UsageError("--port and --host are for siamize web serve");
    await buildSite(dir, { overwrite: a.values.overwrite, cards: a.values.card, log: io.err });
    io.err(`siamize: site written to ${dir} (serve it: siamize web serve ${dir})`);
    return 0;
  }
  if (cmd === "serve") {
    if (a.values.overwrite || a.values.card) throw new UsageError("--overwrite and --card are for siamize web build");
    const port = a.values.port === undefined ? 0 : Number(a.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port ${a.values.port}: not a port`);
    }
    try {
      if (!(await Deno.stat(dir)).isDirectory) throw new UsageError(`${dir}: not a folder`);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError(`${dir}: no such folder`);
    }
    const server = await serveSite(dir, { port, hostname: a.values.host });
    io.out(`serving ${dir} at ${server.url} (Ctrl-C stops)`);
    await new Promise<void>((done) => {
      if (signal?.aborted) return done();
      signal?.addEventListener("abort", () => done(), { once: true });
    });
    await server.shutdown();
    return 0;
  }
  throw new UsageError(`siamize web ${cmd}: unknown (build or serve)`);
}
