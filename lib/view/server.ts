/**
 * The `siamize view` server: `Deno.serve` on 127.0.0.1 only, a random port
 * unless one is given, and a random token as the first part of every path
 * (`http://127.0.0.1:PORT/TOKEN/`); any request without it gets 403. It
 * serves the page, NiiVue's browser module, the files the user opened or a
 * run wrote (by id, see {@linkcode FileRegistry}), the page's API and the
 * run events; nothing else. Its temp folder is removed by
 * {@linkcode ViewServer.close}, and on Ctrl-C by the CLI's signal cleanup.
 *
 * @module
 */
import { SiamizeError, UsageError } from "../core/errors.ts";
import { trackTemp, untrackTemp } from "../core/fsutil.ts";
import type { ModelCard } from "../cards/card.ts";
import { resolveCard, SHIPPED_CARDS, SIAM_V03 } from "../cards/shipped.ts";
import type { VolumeRow } from "../outputs/volumes.ts";
import type { Backend } from "../engine/ort.ts";
import { niivueModule, PAGE_FILES, pageFile } from "./assets.ts";
import { contentTypeOf, FileRegistry } from "./files.ts";
import { labelVolumes, type Opened, openVolume } from "./open.ts";
import { errorLine, type RunRequest, ViewRuns } from "./runs.ts";
import { receiveUpload, UploadError, uploadName } from "./upload.ts";
import { type PromptRequest, ViewSamri } from "./samri.ts";
import { maxInputBytes } from "../core/limits.ts";
import { EventHub } from "./sse.ts";
import { makeToken, sameToken, splitTokenPath } from "./token.ts";

/** Options of {@linkcode startViewServer}. */
export interface ViewOptions {
  /** A scan to open. */
  scan?: string;
  /** A label volume to overlay (needs `scan`). */
  labels?: string;
  /** The card for runs and for the labels' names and colours: a shipped name or a card file. @default siam-v0.3 */
  card?: string;
  /** Port; 0 or undefined: a free one. */
  port?: number;
  /** Address to listen on: only loopback (`127.0.0.1`) is accepted. @default "127.0.0.1" */
  hostname?: string;
  /** Weights cache for runs. @default the CLI's */
  cacheDir?: string;
  /** ONNX Runtime stand-in (tests). */
  backend?: Backend;
  /** Largest upload in bytes. @default the CLI's input limit (`SIAMIZE_MAX_INPUT_BYTES`, 8 GiB) */
  maxUploadBytes?: number;
}

/** A running server. */
export interface ViewServer {
  /** The page's URL, token included. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** The token. */
  token: string;
  /** Its temp folder (uploads, run outputs), removed by {@linkcode ViewServer.close}. */
  tempDir: string;
  /** Stops the server and removes the temp folder. */
  close(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function plain(status: number, text: string): Response {
  return new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

/** What `api/state` returns: what is open, the card, the cards, the last run. */
interface OpenState {
  scan?: Opened;
  labels?: Opened;
  card: ModelCard;
  cardSpec: string;
  volumes?: VolumeRow;
}

/** Starts the server; a bad scan, labels or card fails here with the CLI's error, before anything listens. */
export async function startViewServer(options: ViewOptions = {}): Promise<ViewServer> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (hostname !== "127.0.0.1") {
    throw new UsageError(`${hostname}: siamize view listens on 127.0.0.1 only (the page can read your files)`);
  }
  if (options.labels && !options.scan) throw new UsageError("--labels needs a scan to overlay");
  const cardSpec = options.card ?? "siam-v0.3";
  const card = options.card ? await resolveCard(options.card) : SIAM_V03;
  const cards = [...new Set([cardSpec, ...SHIPPED_CARDS])];
  const tempDir = await Deno.makeTempDir({ prefix: "siamize-view-" });
  trackTemp(tempDir);
  const files = new FileRegistry();
  const hub = new EventHub();
  const runs = new ViewRuns({
    folder: tempDir,
    files,
    hub,
    cards,
    cacheDir: options.cacheDir,
    backend: options.backend,
  });
  const state: OpenState = { card, cardSpec };
  let samri: ViewSamri | undefined;
  const samriFor = () => {
    if (!state.scan) throw new UsageError("open a scan first");
    return samri ??= new ViewSamri(state.scan.path, tempDir, files);
  };
  const removeTemp = async () => {
    untrackTemp(tempDir);
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  };
  try {
    if (options.scan) state.scan = await openVolume(options.scan, files, tempDir);
    if (options.labels) {
      state.labels = await openVolume(options.labels, files, tempDir);
      state.volumes = labelVolumes(state.labels, card);
    }
    // Loads NiiVue's module now: a missing package is an error at start, not a blank page.
    await niivueModule();
  } catch (e) {
    await removeTemp();
    throw e;
  }
  const token = makeToken();

  const api = async (req: Request, route: string, q: URLSearchParams): Promise<Response> => {
    if (route === "state" && req.method === "GET") {
      const o = (x?: Opened) => x && { name: x.name, url: FileRegistry.url(x.served) };
      return json({
        scan: o(state.scan),
        labels: o(state.labels),
        card: state.cardSpec,
        labelTable: state.card.classes,
        volumes: state.volumes,
        cards,
        running: runs.running,
        last: runs.last,
      });
    }
    if (route === "events" && req.method === "GET") {
      return new Response(hub.stream(), {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    if (route === "run" && req.method === "POST") {
      if (!state.scan) return json({ error: "siamize: open a scan first" }, 409);
      let body: RunRequest;
      try {
        body = await req.json();
      } catch {
        return json({ error: "siamize: the run request is not JSON" }, 400);
      }
      try {
        const run = await runs.start(state.scan.path, body);
        return json({ run });
      } catch (e) {
        const status = e instanceof SiamizeError && e.exitCode === 64 ? 400 : 500;
        return json({ error: errorLine(e) }, runs.running ? 409 : status);
      }
    }
    if (route === "cancel" && req.method === "POST") return json({ cancelled: runs.cancel() });
    if (route.startsWith("samri/") && req.method === "POST") {
      try {
        const sam = samriFor();
        if (route === "samri/prompt") return json(await sam.prompt(await req.json() as PromptRequest));
        if (route === "samri/accept") return json({ url: await sam.accept() });
        if (route === "samri/clear") return json({ cleared: (sam.clear(), true) });
        return plain(404, "not found");
      } catch (e) {
        return json({ error: errorLine(e) }, e instanceof SiamizeError ? 400 : 500);
      }
    }
    if (route === "open" && req.method === "POST") {
      const kind = q.get("kind");
      try {
        if (kind !== "scan" && kind !== "labels") throw new UploadError(400, "siamize: open a scan or labels");
        if (kind === "labels" && !state.scan) throw new UploadError(400, "siamize: open a scan before its labels");
        if (runs.running) throw new UploadError(409, "siamize: a run is going on: cancel it first");
        const name = uploadName(q.get("name"));
        const length = req.headers.get("content-length");
        const limit = options.maxUploadBytes ?? maxInputBytes();
        const opened = await receiveUpload(req.body, length ? Number(length) : undefined, name, limit, files, tempDir);
        if (kind === "scan") {
          await samri?.close();
          samri = undefined;
          state.scan = opened;
          state.labels = undefined;
          state.volumes = undefined;
        } else {
          state.labels = opened;
          state.volumes = labelVolumes(opened, state.card);
        }
        return json({ opened: { name: opened.name, url: FileRegistry.url(opened.served) } });
      } catch (e) {
        await req.body?.cancel().catch(() => {});
        if (e instanceof UploadError) return json({ error: e.message }, e.status);
        throw e;
      }
    }
    return plain(404, "not found");
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const parts = splitTokenPath(url.pathname);
    if (!parts || !sameToken(parts[0], token)) return plain(403, "forbidden: the URL's token is missing or wrong");
    const rest = parts[1];
    if (rest === "" || rest === "index.html") {
      return new Response(await pageFile("index.html"), { headers: { "content-type": PAGE_FILES["index.html"] } });
    }
    if (rest === "niivue.js") {
      return new Response(await niivueModule(), { headers: { "content-type": "text/javascript; charset=utf-8" } });
    }
    if (Object.hasOwn(PAGE_FILES, rest)) {
      return new Response(await pageFile(rest), { headers: { "content-type": PAGE_FILES[rest] } });
    }
    if (rest.startsWith("api/")) return await api(req, rest.slice(4), url.searchParams);
    const m = rest.match(/^files\/(\d+)\/([^/]+)$/);
    if (m && req.method === "GET") {
      let name: string;
      try {
        name = decodeURIComponent(m[2]);
      } catch {
        return plain(404, "not found");
      }
      const f = files.get(m[1], name);
      if (!f) return plain(404, "not found");
      try {
        const file = await Deno.open(f.path, { read: true });
        return new Response(file.readable, {
          headers: {
            "content-type": contentTypeOf(f.name),
            "content-disposition": `attachment; filename="${f.name.replace(/["\\\r\n]/g, "_")}"`,
          },
        });
      } catch {
        return plain(404, "not found");
      }
    }
    return plain(404, "not found");
  };

  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({ hostname, port: options.port ?? 0, onListen() {} }, async (req) => {
      try {
        return await handler(req);
      } catch (e) {
        return json({ error: errorLine(e) }, 500);
      }
    });
  } catch (e) {
    await removeTemp();
    throw new SiamizeError(`--port ${options.port}: cannot listen on ${hostname} (${(e as Error).message})`, 73);
  }
  const port = server.addr.port;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      runs.cancel();
      hub.close();
      await samri?.close().catch(() => {});
      await server.shutdown();
      await removeTemp();
    })();
  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    token,
    tempDir,
    close,
    finished: server.finished,
  };
}
