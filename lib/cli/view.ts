/**
 * `siamize view [SCAN] [--labels FILE] [--card NAME] [--port N] [--no-open]`:
 * starts the page server (lib/view), prints its URL, opens it in a browser
 * when one is at hand (and the process may start one), and serves until
 * Ctrl-C, which removes its temp folder (the CLI's signal cleanup).
 * `--in-browser` serves the browser build instead (`lib/view/tab_site.ts`):
 * the segmentation runs in the tab.
 *
 * @module
 */
import { parseArgs } from "../core/_std.ts";
import { UsageError } from "../core/errors.ts";
import { startViewServer, type ViewOptions } from "../view/server.ts";
import { startTabServer } from "../view/tab_site.ts";
import { SHIPPED_CARDS } from "../cards/shipped.ts";

/** Where `siamize view` writes its lines. */
export interface ViewIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** `siamize view --help`. */
export const VIEW_HELP = `siamize view [SCAN] [options] — a local web page: the scan, its labels, runs from the page

  SCAN                 a scan to open (NIfTI, NIfTI-2, .jnii, .bnii)
  --labels FILE        a label volume to overlay on SCAN
  --card NAME|FILE     the card for runs, label names and colours (default siam-v0.3)
  --port N             listen on 127.0.0.1:N (default: a free port)
  --in-browser         serve the browser build instead: the segmentation runs in the tab
                       (onnxruntime-web, WASM threads or WebGPU), SCAN preselected in the page;
                       --card FILE adds a card to its list; no --labels
  --no-open            print the URL only (default: open it in a browser when one is at hand)
  -h, --help           this help

The URL holds a random token; the server answers only on 127.0.0.1 and only with the token.
Ctrl-C stops it and removes its temp folder.`;

/** Parsed `siamize view` arguments. */
export interface ViewCliOptions extends ViewOptions {
  open: boolean;
  /** Serve the browser build (the run in the tab) instead of the view page. */
  inBrowser: boolean;
  help: boolean;
}

/** Parses `siamize view`'s arguments (pure). */
export function parseViewCli(argv: string[]): ViewCliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        labels: { type: "string" },
        card: { type: "string" },
        port: { type: "string" },
        "no-open": { type: "boolean" },
        "in-browser": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new UsageError(`siamize view: ${(e as Error).message.split("\n")[0]}`);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`siamize view takes one scan, got ${positionals.length}`);
  let port: number | undefined;
  if (v.port !== undefined) {
    port = Number(v.port);
    if (!/^\d+$/.test(v.port) || port > 65535) throw new UsageError(`--port ${v.port}: give a port 0-65535`);
  }
  const inBrowser = v["in-browser"] === true;
  if (inBrowser && v.labels !== undefined) {
    throw new UsageError("--labels is for siamize view without --in-browser (the page shows the labels it makes)");
  }
  return {
    inBrowser,
    scan: positionals[0],
    labels: v.labels,
    card: v.card,
    port,
    open: !v["no-open"],
    help: v.help === true,
  };
}

/** The command that opens a URL in the desktop's browser here, if any. */
function opener(): string[] | undefined {
  if (Deno.build.os === "darwin") return ["open"];
  if (Deno.build.os === "windows") return ["cmd", "/c", "start", ""];
  try {
    if (!Deno.env.get("DISPLAY") && !Deno.env.get("WAYLAND_DISPLAY")) return undefined;
  } catch {
    return undefined;
  }
  return ["xdg-open"];
}

/** Opens `url` in a browser when one is at hand and the process may start it; whether it did. */
async function openBrowser(url: string): Promise<boolean> {
  const cmd = opener();
  if (!cmd) return false;
  try {
    if ((await Deno.permissions.query({ name: "run", command: cmd[0] })).state !== "granted") return false;
    const child = new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/** Runs `siamize view`; returns the exit code when the server stops (on `signal`), or never (Ctrl-C exits). */
export async function runView(argv: string[], io: ViewIo, signal?: AbortSignal): Promise<number> {
  const o = parseViewCli(argv);
  if (o.help) {
    io.out(VIEW_HELP);
    return 0;
  }
  if (o.inBrowser) {
    const cards = o.card !== undefined && !SHIPPED_CARDS.includes(o.card.replace(/\.json$/i, "")) ? [o.card] : [];
    const tab = await startTabServer({ scan: o.scan, port: o.port, cards });
    io.out(`siamize view: ${tab.url}`);
    io.err(`siamize view: the browser build on 127.0.0.1:${tab.port}, the run in the tab; Ctrl-C stops it`);
    if (o.open && !(await openBrowser(tab.url))) io.err("siamize view: open the URL above in your browser");
    signal?.addEventListener("abort", () => tab.close(), { once: true });
    await tab.finished;
    await tab.close();
    return 0;
  }
  const server = await startViewServer(o);
  io.out(`siamize view: ${server.url}`);
  io.err(`siamize view: serving on 127.0.0.1:${server.port}; temp folder ${server.tempDir}; Ctrl-C stops it`);
  if (o.open && !(await openBrowser(server.url))) io.err("siamize view: open the URL above in your browser");
  signal?.addEventListener("abort", () => server.close(), { once: true });
  await server.finished;
  await server.close();
  return 0;
}
