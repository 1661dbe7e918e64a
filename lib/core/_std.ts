/**
 * The one place where this project reaches for standard-library helpers.
 *
 * JSR (and so `@std/*`) is out of reach on the machines this project is built
 * on, so these come from Deno's `node:` built-ins. Every other module imports
 * them from here, so swapping in `@std/path`, `@std/cli` and friends later is
 * a change to this file alone.
 *
 * @module
 */
import * as nodePath from "node:path";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { parseArgs as nodeParseArgs } from "node:util";

/** Joins path segments with the platform separator. */
export const join: (...parts: string[]) => string = nodePath.join;
/** Directory part of a path. */
export const dirname: (path: string) => string = nodePath.dirname;
/** Last segment of a path, optionally without `suffix`. */
export const basename: (path: string, suffix?: string) => string = nodePath.basename;
/** Resolves segments to an absolute path. */
export const resolve: (...parts: string[]) => string = nodePath.resolve;
/** Path from `from` to `to`. */
export const relative: (from: string, to: string) => string = nodePath.relative;
/** Whether a path is absolute. */
export const isAbsolute: (path: string) => boolean = nodePath.isAbsolute;

/** Options of {@linkcode parseArgs}: the `node:util` shape. */
export type ParseArgsConfig = Parameters<typeof nodeParseArgs>[0];
/** Command-line parser (strict, with short aliases and typed values). */
export const parseArgs = nodeParseArgs;

/**
 * SHA-256 (lowercase hex) of a byte sequence given chunk by chunk, so that a
 * file of any size is hashed in bounded memory (`@std/crypto`'s streaming
 * digest, from `node:crypto`).
 */
export async function sha256Hex(
  chunks: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<string> {
  const h = createHash("sha256");
  if (chunks instanceof Uint8Array) h.update(chunks);
  else for await (const c of chunks) h.update(c);
  return h.digest("hex");
}

/** The local path of a `file:` URL. */
export function fromFileUrl(url: string | URL): string {
  const u = url instanceof URL ? url : new URL(url);
  if (u.protocol !== "file:") throw new TypeError(`not a file URL: ${u.href}`);
  return decodeURIComponent(u.pathname);
}

/** The `file:` URL of a local path (absolute or resolved), with special characters escaped. */
export function toFileUrl(path: string): URL {
  return pathToFileURL(path);
}

export { gunzipAll } from "./_zlib.ts";
