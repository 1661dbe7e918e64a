/**
 * Image embeddings kept on disk, so that another prompt on a slice already
 * seen runs only the decoder: `<weights cache>/embeddings/<key>.f32`, the
 * key being the SHA-256 of the encoder file and of the slice's uint8 RGB
 * image (what the encoder's input is made from). The folder is capped in
 * size (oldest files removed first). The encoder's hash is remembered by
 * path, size and modification time, so a large encoder is hashed once.
 *
 * @module
 */
import { join } from "../core/_std.ts";
import { writeFileAtomic } from "../core/fsutil.ts";
import { cacheDir } from "../core/cache_dir.ts";
import type { Prepared } from "./preprocess.ts";
import type { EmbeddingStore } from "./prompter.ts";

/** Default cap of the embeddings folder: 1 GiB (about 250 ViT-B slices). */
export const DEFAULT_CAP_BYTES = 1 << 30;

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode diskEmbeddingStore}. */
export interface DiskStoreOptions {
  /** The folder (default `<weights cache>/embeddings`). */
  dir?: string;
  /** Size cap in bytes. @default 1 GiB */
  capBytes?: number;
  /** One-line messages (cache problems are reported, never fatal). */
  log?: (message: string) => void;
}

/**
 * An {@linkcode EmbeddingStore} in files, for the encoder at `encoderPath`
 * (a path; its content hash is part of every key).
 */
export function diskEmbeddingStore(encoderPath: string, options: DiskStoreOptions = {}): EmbeddingStore {
  const log = options.log ?? (() => {});
  let dir = options.dir;
  const folder = (): string | undefined => {
    if (dir) return dir;
    try {
      return dir = join(cacheDir(), "embeddings");
    } catch {
      return undefined;
    }
  };
  let encoderHash: Promise<string> | undefined;
  const hashEncoder = async (): Promise<string> => {
    const st = await Deno.stat(encoderPath);
    const d = folder();
    const memo = d ? join(d, "encoders.json") : undefined;
    const id = `${await Deno.realPath(encoderPath)}|${st.size}|${st.mtime?.getTime() ?? 0}`;
    let known: Record<string, string> = {};
    if (memo) {
      try {
        known = JSON.parse(await Deno.readTextFile(memo));
      } catch { /* none yet */ }
      if (typeof known[id] === "string") return known[id];
    }
    const h = await sha256Hex(await Deno.readFile(encoderPath));
    if (memo) {
      try {
        await Deno.mkdir(d!, { recursive: true });
        await writeFileAtomic(memo, new TextEncoder().encode(JSON.stringify({ ...known, [id]: h })));
      } catch (e) {
        log(`embeddings cache: cannot write ${memo} (${(e as Error).message})`);
      }
    }
    return h;
  };
  return {
    async key(p: Prepared): Promise<string> {
      encoderHash ??= hashEncoder();
      const head = new TextEncoder().encode(`${p.width}x${p.height}x${p.rgb.channels}|${await encoderHash}|`);
      const all = new Uint8Array(head.length + p.rgb.data.length);
      all.set(head);
      all.set(p.rgb.data, head.length);
      return await sha256Hex(all);
    },
    async get(key: string): Promise<Float32Array | undefined> {
      const d = folder();
      if (!d) return undefined;
      try {
        const b = await Deno.readFile(join(d, `${key}.f32`));
        if (b.length % 4) return undefined;
        const now = new Date();
        await Deno.utime(join(d, `${key}.f32`), now, now).catch(() => {});
        return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
      } catch {
        return undefined;
      }
    },
    async set(key: string, value: Float32Array): Promise<void> {
      const d = folder();
      if (!d) return;
      try {
        await Deno.mkdir(d, { recursive: true });
        await writeFileAtomic(join(d, `${key}.f32`), new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        await trim(d, options.capBytes ?? DEFAULT_CAP_BYTES);
      } catch (e) {
        log(`embeddings cache: cannot write in ${d} (${(e as Error).message})`);
      }
    },
  };
}

/** Removes the least recently used `.f32` files until the folder holds at most `cap` bytes of them. */
export async function trim(dir: string, cap: number): Promise<void> {
  const files: { path: string; size: number; time: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".f32")) continue;
    const path = join(dir, e.name);
    const st = await Deno.stat(path);
    files.push({ path, size: st.size, time: st.mtime?.getTime() ?? 0 });
  }
  let total = files.reduce((a, f) => a + f.size, 0);
  files.sort((a, b) => a.time - b.time);
  for (const f of files) {
    if (total <= cap) break;
    await Deno.remove(f.path).catch(() => {});
    total -= f.size;
  }
}
