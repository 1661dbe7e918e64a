/**
 * `siamize view --in-browser [SCAN]`: the browser build's site
 * (`lib/web/site.ts`, from the prebuilt page) built into a temp folder and
 * served on 127.0.0.1 under the view server's token
 * (`http://127.0.0.1:PORT/TOKEN/`, 403 without it), with the cross-origin
 * isolation headers that WASM threads need. The segmentation runs in the
 * tab, not in this process. A SCAN given on the command line is served
 * under the token (`TOKEN/scan/NAME`) and named in the page's address
 * (`?scan=scan/NAME`): the page fetches it from this server and has it
 * preselected (a scan picked in the page replaces it).
 *
 * @module
 */
import { basename, join } from "../core/_std.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { errorText, trackTemp, untrackTemp } from "../core/fsutil.ts";
import { buildSite, siteHeaders, siteResponse } from "../web/site.ts";
import { makeToken, sameToken, splitTokenPath } from "./token.ts";

/** Options of {@linkcode startTabServer}. */
export interface TabServerOptions {
  /** A scan to preselect in the page. */
  scan?: string;
  /** Port; 0 or undefined: a free one. */
  port?: number;
  /** More card JSON files to offer in the page (as `siamize web build --card`). */
  cards?: string[];
}

/** A running `--in-browser` server. */
export interface TabServer {
  /** The page's URL, token (and preselected scan) included. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** Its temp folder (the built site), removed by {@linkcode TabServer.close}. */
  tempDir: string;
  /** Stops the server and removes the temp folder. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** Builds the site into a temp folder and serves it; a missing scan fails here (exit 66), before anything listens. */
export async function startTabServer(options: TabServerOptions = {}): Promise<TabServer> {
  const scan = options.scan;
  if (scan !== undefined) {
    let ok = false;
    try {
      ok = (await Deno.stat(scan)).isFile;
    } catch (e) {
      throw new SiamizeError(`${scan}: cannot read (${errorText(e)})`, 66);
    }
    if (!ok) throw new UsageError(`${scan}: not a file`);
  }
  const scanName = scan === undefined ? undefined : basename(scan);
  const tempDir = await Deno.makeTempDir({ prefix: "siamize-view-" });
  trackTemp(tempDir);
  const removeTemp = async () => {
    untrackTemp(tempDir);
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  };
  const site = join(tempDir, "site");
  try {
    await buildSite(site, { cards: options.cards });
  } catch (e) {
    await removeTemp();
    throw e;
  }
  const token = makeToken();
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const parts = splitTokenPath(url.pathname);
    if (!parts || !sameToken(parts[0], token)) return plain(403, "forbidden: the URL's token is missing or wrong");
    if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "method not allowed");
    if (!url.pathname.startsWith(`/${token}/`)) return Response.redirect(`${url.origin}/${token}/${url.search}`, 301);
    const rest = parts[1];
    if (scan !== undefined && rest === `scan/${encodeURIComponent(scanName!)}`) {
      try {
        const f = await Deno.open(scan);
        return new Response(f.readable, { headers: { ...siteHeaders(scanName!), "cache-control": "no-store" } });
      } catch {
        return plain(404, "not found");
      }
    }
    return await siteResponse(site, "/" + rest);
  };
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} }, handler);
  } catch (e) {
    await removeTemp();
    throw new SiamizeError(`--port ${options.port}: cannot listen on 127.0.0.1 (${errorText(e)})`, 73);
  }
  const port = server.addr.port;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      await server.shutdown();
      await removeTemp();
    })();
  const query = scanName === undefined ? "" : `?scan=${encodeURIComponent(`scan/${encodeURIComponent(scanName)}`)}`;
  return { url: `http://127.0.0.1:${port}/${token}/${query}`, port, tempDir, close, finished: server.finished };
}
