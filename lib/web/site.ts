/**
 * The static site of the browser build: {@linkcode buildSite} writes it into
 * a folder (HTML, the bundled page script, ONNX Runtime Web's WASM runtime,
 * NiiVue, the card JSONs), {@linkcode serveSite} serves a folder on this
 * machine. Any static host serves the same folder; WASM threads need the
 * two cross-origin isolation headers {@linkcode serveSite} sends
 * (`Cross-Origin-Opener-Policy: same-origin`,
 * `Cross-Origin-Embedder-Policy: require-corp`), else the page runs on one.
 *
 * The page script is bundled at build time by `deno bundle --platform
 * browser`, run with this Deno's executable ({@linkcode Deno.execPath}) on
 * this checkout's `lib/web/page/main.ts`: `siamize web build` works from the
 * repository (`deno task siamize web build …`, `deno run … cli.ts`), and
 * says so where it cannot (a `deno compile`d siamize has no Deno to
 * bundle with, nor these sources).
 *
 * @module
 */
import { basename, dirname, fromFileUrl, join, resolve } from "../core/_std.ts";
import { SiamizeError, UsageError } from "../core/errors.ts";
import { errorText } from "../core/fsutil.ts";
import { parseJsonBounded } from "../core/limits.ts";
import { validateCard } from "../cards/parse.ts";
// Both packages whose files the site copies are in the module graph (types only), so that Deno installs them.
import { ORT_WEB_VERSION } from "../engine/_onnxruntime_web.ts";
import { NIIVUE_VERSION } from "./_niivue.ts";

/** The card JSONs shipped into every site (the 3-D cards; SAMRI's prompt card is not in the page yet). */
export const SITE_CARDS = ["siam-v0.3.json", "monai-wholebody-ct.json", "hnoseg-xs-brats.json"];

/** ONNX Runtime Web files the page needs (the WebGPU build, which also has the WASM provider). */
export const ORT_FILES = [
  "ort.webgpu.min.mjs",
  "ort-wasm-simd-threaded.asyncify.mjs",
  "ort-wasm-simd-threaded.asyncify.wasm",
];

/** Options of {@linkcode buildSite}. */
export interface BuildOptions {
  /** Replace what the folder holds. @default false */
  overwrite?: boolean;
  /** More card JSON files to offer in the page (validated first). */
  cards?: string[];
  /** One-line messages. */
  log?: (s: string) => void;
}

const here = (p: string) => fromFileUrl(new URL(p, import.meta.url));

/**
 * A file of an npm package: through Deno's resolution where it gives a
 * file, else in the checkout's `node_modules` (Deno's layout); an error
 * saying to run `deno install` where it is in neither.
 */
function packageFile(name: string, version: string, exported: string, subpath: string): string {
  const root = join(
    here("../.."),
    "node_modules",
    ".deno",
    `${name.replace("/", "+")}@${version}`,
    "node_modules",
    name,
  );
  try {
    // The package's folder from where Deno resolves its export `exported` (a file `depth` folders down).
    const url = import.meta.resolve(`npm:${name}@${version}${exported}`);
    if (url.startsWith("file:")) {
      let dir = fromFileUrl(url);
      while (basename(dir) !== basename(name) && dirname(dir) !== dir) dir = dirname(dir);
      const path = join(dir, subpath);
      Deno.statSync(path);
      return path;
    }
  } catch { /* not resolvable here: look in node_modules */ }
  const path = join(root, subpath);
  try {
    Deno.statSync(path);
  } catch {
    throw new SiamizeError(`${path}: missing (${name} ${version}); run deno install in the checkout`, 66);
  }
  return path;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    if (e instanceof Deno.errors.NotADirectory) throw new SiamizeError(`${dir}: not a folder`, 73);
    throw new SiamizeError(`${dir}: cannot read (${errorText(e)})`, 73);
  }
}

/** Bundles the page script with `deno bundle --platform browser` into `out`. */
async function bundlePage(out: string): Promise<void> {
  const entry = here("./page/main.ts");
  const exe = Deno.execPath();
  if (!/^deno(\.exe)?$/i.test(basename(exe))) {
    throw new SiamizeError(
      `siamize web build needs Deno to bundle the page, and this siamize runs in ${exe}; ` +
        "run it from the checkout (deno task siamize web build DIR)",
      1,
    );
  }
  try {
    await Deno.stat(entry);
  } catch {
    throw new SiamizeError(`siamize web build needs the checkout's sources (${entry} is missing)`, 66);
  }
  const root = here("../..");
  let r: Deno.CommandOutput;
  try {
    r = await new Deno.Command(exe, {
      args: ["bundle", "--quiet", "--platform", "browser", "--config", join(root, "deno.json"), "-o", out, entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new SiamizeError(
        `siamize web build runs ${exe} bundle and has no --allow-run: use deno task web build DIR`,
        1,
      );
    }
    throw e;
  }
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).split("\n").map((s) => s.trim()).filter(Boolean);
    throw new SiamizeError(`deno bundle failed: ${err.find((l) => /error/i.test(l)) ?? err[0] ?? `exit ${r.code}`}`, 1);
  }
}

/**
 * Writes the static site into `outDir`: `index.html`, `app.js` (the page
 * script), `ort/` (ONNX Runtime Web), `niivue.js`, `cards/` (the shipped
 * 3-D cards and `options.cards`, with `cards/index.json` listing them). A
 * folder that holds anything is refused (exit 73) unless `overwrite`; the
 * site is built beside it under a temp name and renamed into place, so a
 * failed build leaves nothing.
 */
export async function buildSite(outDir: string, options: BuildOptions = {}): Promise<void> {
  const out = resolve(outDir);
  if (!options.overwrite && !(await isEmptyOrMissing(out))) {
    throw new SiamizeError(`${outDir}: not empty (--overwrite replaces what it holds)`, 73);
  }
  const extra: { name: string; text: string }[] = [];
  for (const c of options.cards ?? []) {
    let text: string;
    try {
      text = await Deno.readTextFile(c);
    } catch (e) {
      throw new SiamizeError(`--card ${c}: cannot read (${errorText(e)})`, 66);
    }
    validateCard(parseJsonBounded(text), c);
    extra.push({ name: basename(c), text });
  }
  const names = [...SITE_CARDS, ...extra.map((c) => c.name)];
  if (new Set(names).size !== names.length) throw new UsageError(`--card: two cards named alike (${names.join(", ")})`);
  const ortDir = dirname(packageFile("onnxruntime-web", ORT_WEB_VERSION, "/webgpu", "dist/ort.webgpu.min.mjs"));
  // NiiVue's self-contained browser ES module (no imports of its own).
  const niivue = packageFile("@niivue/niivue", NIIVUE_VERSION, "", "dist/index.js");
  try {
    await Deno.mkdir(dirname(out), { recursive: true });
  } catch (e) {
    throw new SiamizeError(`${dirname(out)}: cannot create (${errorText(e)})`, 73);
  }
  const stage = join(dirname(out), `.${basename(out)}.${Date.now().toString(36)}.tmp`);
  try {
    await Deno.mkdir(join(stage, "ort"), { recursive: true });
    await Deno.mkdir(join(stage, "cards"));
    options.log?.("bundling the page (deno bundle --platform browser)");
    await bundlePage(join(stage, "app.js"));
    await Deno.copyFile(here("./page/index.html"), join(stage, "index.html"));
    for (const f of ORT_FILES) {
      try {
        await Deno.copyFile(join(ortDir, f), join(stage, "ort", f));
      } catch (e) {
        throw new SiamizeError(`${join(ortDir, f)}: cannot copy (${errorText(e)}); run deno install`, 66);
      }
    }
    await Deno.copyFile(niivue, join(stage, "niivue.js"));
    for (const c of SITE_CARDS) await Deno.copyFile(here(`../../models/${c}`), join(stage, "cards", c));
    for (const c of extra) await Deno.writeTextFile(join(stage, "cards", c.name), c.text);
    await Deno.writeTextFile(join(stage, "cards", "index.json"), JSON.stringify(names) + "\n");
    if (!(await isEmptyOrMissing(out))) {
      if (!options.overwrite) throw new SiamizeError(`${outDir}: not empty (--overwrite replaces what it holds)`, 73);
    }
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.rename(stage, out);
  } catch (e) {
    await Deno.remove(stage, { recursive: true }).catch(() => {});
    if (e instanceof SiamizeError) throw e;
    throw new SiamizeError(`${outDir}: cannot write the site (${errorText(e)})`, 73, { cause: e });
  }
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript",
  mjs: "text/javascript",
  wasm: "application/wasm",
  json: "application/json",
  onnx: "application/octet-stream",
  gz: "application/gzip",
};

/** A running local server of {@linkcode serveSite}. */
export interface SiteServer {
  /** The page's address, e.g. `http://127.0.0.1:8123/`. */
  url: string;
  /** Stops the server. */
  shutdown(): Promise<void>;
}

/**
 * Serves the files of `dir` on `hostname:port` (default 127.0.0.1 and a free
 * port), with the cross-origin isolation headers that WASM threads need.
 * Only files under `dir` are served; a path with `..` is refused.
 */
export function serveSite(dir: string, options: { hostname?: string; port?: number } = {}): Promise<SiteServer> {
  const root = resolve(dir);
  return new Promise((done) => {
    const server = Deno.serve({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      onListen: ({ hostname, port }) => done({ url: `http://${hostname}:${port}/`, shutdown: () => server.shutdown() }),
    }, async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
      const file = join(root, path.endsWith("/") ? path + "index.html" : path);
      const headers = {
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
        "content-type": TYPES[file.split(".").pop()!] ?? "application/octet-stream",
      };
      try {
        const f = await Deno.open(file);
        return new Response(f.readable, { headers });
      } catch {
        return new Response("not found", { status: 404 });
      }
    });
  });
}
