/**
 * The files a `siamize view` server may serve: only those the user opened
 * (on the command line or by upload) or that a run wrote, each under a
 * numeric id. Requests name `files/<id>/<name>`; nothing maps a URL onto
 * the file system, so `..` cannot reach anything else.
 *
 * @module
 */
import { basename } from "../core/_std.ts";

/** One file the server may serve. */
export interface ServedFile {
  /** Id in URLs (`files/<id>/<name>`). */
  id: string;
  /** File name in URLs and downloads. */
  name: string;
  /** Absolute or working-folder-relative path on disk. */
  path: string;
}

const TYPES: [RegExp, string][] = [
  [/\.png$/i, "image/png"],
  [/\.(tsv)$/i, "text/tab-separated-values; charset=utf-8"],
  [/\.(csv)$/i, "text/csv; charset=utf-8"],
  [/\.(json|jnii)$/i, "application/json"],
];

/** The Content-Type a served file gets (volumes: `application/octet-stream`). */
export function contentTypeOf(name: string): string {
  return TYPES.find(([re]) => re.test(name))?.[1] ?? "application/octet-stream";
}

/** The registry of served files. */
export class FileRegistry {
  #files = new Map<string, ServedFile>();
  #next = 1;

  /** Registers `path` (served as `name`, default its base name); returns its entry. */
  add(path: string, name: string = basename(path)): ServedFile {
    const f = { id: String(this.#next++), name, path };
    this.#files.set(f.id, f);
    return f;
  }

  /** The entry with this id and name, or undefined (both must match). */
  get(id: string, name: string): ServedFile | undefined {
    const f = this.#files.get(id);
    return f && f.name === name ? f : undefined;
  }

  /** The URL of an entry, relative to the page (`files/<id>/<name>`). */
  static url(f: ServedFile): string {
    return `files/${f.id}/${encodeURIComponent(f.name)}`;
  }
}
