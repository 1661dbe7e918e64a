/**
 * The page's static files: `page/index.html`, `page/app.js`,
 * `page/style.css`, `page/samri.js` beside this module (plain ES-module JavaScript, served
 * as they are), and NiiVue's self-contained browser ES module
 * (`dist/index.js` of `npm:@niivue/niivue`, no imports of its own), read
 * from the npm package Deno installed — `node_modules/` in a checkout, or
 * Deno's npm cache — never from a CDN.
 *
 * @module
 */
import { SiamizeError } from "../core/errors.ts";
import { errorText } from "../core/fsutil.ts";
import { niivueUrl } from "../web/_niivue.ts";

/** The page files served, by name, with their Content-Type (nothing else under `page/` is served). */
export const PAGE_FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "samri.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

const cache = new Map<string, Uint8Array<ArrayBuffer>>();

async function readUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const r = await fetch(url); // the JSR package: the page files come from where the module came from
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The bytes of page file `name` (one of {@linkcode PAGE_FILES}), or undefined for any other name. */
export async function pageFile(name: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!Object.hasOwn(PAGE_FILES, name)) return undefined;
  let b = cache.get(name);
  if (!b) {
    const url = new URL(`./page/${name}`, import.meta.url);
    try {
      b = await readUrl(url);
    } catch (e) {
      throw new SiamizeError(`${url}: cannot read the page file (${errorText(e)})`, 66);
    }
    cache.set(name, b);
  }
  return b;
}

/** The bytes of NiiVue's browser module (read once). */
export async function niivueModule(): Promise<Uint8Array<ArrayBuffer>> {
  let b = cache.get("niivue");
  if (!b) {
    const url = await niivueUrl();
    try {
      b = await Deno.readFile(url);
    } catch (e) {
      throw new SiamizeError(`${url.pathname}: cannot read NiiVue's browser module (${errorText(e)})`, 66);
    }
    cache.set("niivue", b);
  }
  return b;
}
