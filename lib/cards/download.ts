/**
 * Verified, resumable downloads into a shared cache: `<name>.part` with HTTP
 * Range resume, retries with backoff (network errors and 5xx; 4xx are
 * final), length / content / SHA-256 checks before an atomic rename, and a
 * lock file so two processes fetching the same file download it once.
 *
 * @module
 */
import { basename, dirname, sha256Hex } from "../core/_std.ts";
import { SiamizeError } from "../core/errors.ts";
import { errorText, trackTemp, untrackTemp } from "../core/fsutil.ts";

/** Download progress. */
export interface DownloadProgress {
  /** File name. */
  name: string;
  /** Bytes on disk so far (including a resumed part). */
  received: number;
  /** Total bytes, when the server said. */
  total?: number;
  /** Bytes per second over this attempt. */
  rate: number;
  /** Set on the final call. */
  done?: boolean;
}

/** Options of {@linkcode downloadFile}. */
export interface DownloadOptions {
  /** Where to fetch from. */
  url: string;
  /** Final path (its folder is created). */
  dest: string;
  /** Expected SHA-256 (hex); checked when given. */
  sha256?: string;
  /** Content check on the complete `.part` file; throw to reject it (it is then deleted). */
  validate?: (path: string) => Promise<void> | void;
  /** Attempts for network errors and 5xx. @default 5 */
  attempts?: number;
  /** First backoff delay in ms (doubles each retry). @default 500 */
  backoffMs?: number;
  /** Called as bytes arrive and at the end. */
  onProgress?: (p: DownloadProgress) => void;
  /** One-line messages (retries, waiting for another process). */
  log?: (message: string) => void;
  /** A lock older than this (not refreshed) is taken over. @default 60000 */
  staleLockMs?: number;
  /** Give up waiting for another process after this long. @default 3600000 */
  lockTimeoutMs?: number;
  /** Cancels the download. */
  signal?: AbortSignal;
  /** fetch to use (tests). */
  fetch?: typeof fetch;
}

/** Why a download failed; `final` when retrying cannot help (4xx, bad content). */
export class DownloadError extends Error {
  /** Whether another attempt could succeed. */
  readonly final: boolean;
  /** Creates the error. */
  constructor(message: string, final: boolean) {
    super(message);
    this.name = "DownloadError";
    this.final = final;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** SHA-256 of a file, hex, read in chunks (bounded memory). */
export async function sha256File(path: string): Promise<string> {
  const f = await Deno.open(path);
  return await sha256Hex(f.readable); // the stream closes the file at its end
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new SiamizeError(
      `cannot create the weights cache ${dir} (${errorText(e)}); set SIAMIZE_CACHE_DIR to a writable folder`,
      73,
    );
  }
}

/** Holds `<dest>.lock` while it lives; refreshes its time so others see it is alive. */
class Lock {
  #timer: ReturnType<typeof setInterval> | undefined;
  constructor(readonly path: string) {}

  /** Takes the lock, waiting while another live process holds it. Returns false if `ready()` became true while waiting. */
  async acquire(o: DownloadOptions, ready: () => Promise<boolean>): Promise<boolean> {
    const stale = o.staleLockMs ?? 60_000;
    const deadline = Date.now() + (o.lockTimeoutMs ?? 3_600_000);
    let said = false;
    while (true) {
      try {
        const f = await Deno.open(this.path, { write: true, createNew: true });
        trackTemp(this.path);
        await f.write(new TextEncoder().encode(`${Deno.pid} ${new Date().toISOString()}\n`));
        f.close();
        const timer = setInterval(() => {
          try {
            Deno.utimeSync(this.path, new Date(), new Date());
          } catch { /* removed under us: nothing to refresh */ }
        }, Math.max(50, Math.min(5000, stale / 4)));
        Deno.unrefTimer(timer);
        this.#timer = timer;
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
          throw new SiamizeError(
            `cannot write to the weights cache ${
              dirname(this.path)
            } (permission denied); set SIAMIZE_CACHE_DIR to a writable folder`,
            73,
          );
        }
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      if (await ready()) return false;
      let age = 0;
      try {
        age = Date.now() - ((await Deno.stat(this.path)).mtime?.getTime() ?? 0);
      } catch {
        continue; // released just now
      }
      if (age > stale) {
        o.log?.(`${basename(this.path)}: taking over a stale lock (${Math.round(age / 1000)} s old)`);
        try {
          await Deno.remove(this.path);
        } catch { /* someone else took it over */ }
        continue;
      }
      if (!said) {
        o.log?.(`waiting for another process downloading ${basename(this.path, ".lock")}`);
        said = true;
      }
      if (Date.now() > deadline) throw new DownloadError(`gave up waiting for the lock ${this.path}`, true);
      await sleep(Math.min(500, stale / 4), o.signal);
    }
  }

  async release(): Promise<void> {
    clearInterval(this.#timer);
    untrackTemp(this.path);
    try {
      await Deno.remove(this.path);
    } catch { /* already gone */ }
  }
}

/** One attempt: append to `.part` from its current size. Throws DownloadError. */
async function attempt(o: DownloadOptions, part: string): Promise<void> {
  const f = o.fetch ?? fetch;
  let offset = await fileSize(part);
  const headers: Record<string, string> = {};
  if (offset > 0) headers["Range"] = `bytes=${offset}-`;
  let res: Response;
  try {
    res = await f(o.url, { headers, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new DownloadError(errorText(e), false);
  }
  if (res.status === 416 && offset > 0) {
    // The part is as long as (or longer than) the file: start over.
    await res.body?.cancel();
    await Deno.remove(part);
    throw new DownloadError("server refused the resume range", false);
  }
  if (res.status >= 500) {
    await res.body?.cancel();
    throw new DownloadError(`HTTP ${res.status} ${res.statusText}`, false);
  }
  if (res.status >= 400 || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`HTTP ${res.status} ${res.statusText}`.trim(), true);
  }
  let total: number | undefined;
  const len = res.headers.get("content-length");
  if (res.status === 206) {
    const m = res.headers.get("content-range")?.match(/bytes (\d+)-(\d+)\/(\d+|\*)/);
    if (!m || Number(m[1]) !== offset) {
      await res.body.cancel();
      await Deno.remove(part);
      throw new DownloadError("server answered a different range", false);
    }
    total = m[3] === "*" ? undefined : Number(m[3]);
  } else {
    // 200: the server ignored Range (or there was none): start from zero.
    if (offset > 0) o.log?.(`${basename(o.dest)}: server ignored the resume request; downloading from the start`);
    offset = 0;
    total = len !== null ? Number(len) : undefined;
  }
  const file = await Deno.open(part, { write: true, create: true, append: offset > 0, truncate: offset === 0 });
  let received = offset;
  const t0 = performance.now();
  try {
    for await (const chunk of res.body) {
      await writeAll(file, chunk);
      received += chunk.length;
      const dt = (performance.now() - t0) / 1000;
      o.onProgress?.({ name: basename(o.dest), received, total, rate: dt > 0 ? (received - offset) / dt : 0 });
    }
  } catch (e) {
    if (o.signal?.aborted) throw e;
    throw new DownloadError(`connection lost after ${received} bytes (${errorText(e)})`, false);
  } finally {
    file.close();
  }
  if (total !== undefined && received !== total) {
    if (received > total) await Deno.remove(part);
    throw new DownloadError(`truncated: got ${received} of ${total} bytes`, false);
  }
  o.onProgress?.({ name: basename(o.dest), received, total, rate: 0, done: true });
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/**
 * Downloads `url` to `dest` unless `dest` already exists. Resumes a
 * `.part` left by an earlier attempt; verifies length, content and SHA-256
 * before renaming; deletes content that fails verification. Throws
 * {@linkcode DownloadError} (or SiamizeError for an unwritable cache).
 */
export async function downloadFile(o: DownloadOptions): Promise<"downloaded" | "present"> {
  const ready = async () => (await fileSize(o.dest)) > 0;
  if (await ready()) return "present";
  await ensureDir(dirname(o.dest));
  const lock = new Lock(`${o.dest}.lock`);
  if (!await lock.acquire(o, ready)) return "present";
  try {
    if (await ready()) return "present";
    const part = `${o.dest}.part`;
    const attempts = o.attempts ?? 5;
    let delay = o.backoffMs ?? 500;
    for (let k = 1;; k++) {
      try {
        await attempt(o, part);
        break;
      } catch (e) {
        if (!(e instanceof DownloadError) || e.final || k >= attempts) {
          if (e instanceof DownloadError && e.final) {
            try {
              await Deno.remove(part);
            } catch { /* none */ }
          }
          throw e;
        }
        o.log?.(
          `${basename(o.dest)}: ${e.message}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${
            k + 1
          }/${attempts})`,
        );
        await sleep(delay, o.signal);
        delay *= 2;
      }
    }
    try {
      if (o.sha256) {
        const got = await sha256File(part);
        if (got !== o.sha256.toLowerCase()) {
          throw new DownloadError(`SHA-256 mismatch (got ${got}, expected ${o.sha256})`, true);
        }
      }
      await o.validate?.(part);
    } catch (e) {
      await Deno.remove(part);
      throw e instanceof DownloadError ? e : new DownloadError(`rejected content: ${errorText(e)}`, true);
    }
    await Deno.rename(part, o.dest);
    return "downloaded";
  } finally {
    await lock.release();
  }
}

/** A progress printer: a bar on a TTY, a line every few seconds otherwise. */
export function progressPrinter(
  write: (s: string) => void,
  isTty: boolean,
  everyMs = 5000,
): (p: DownloadProgress) => void {
  let last = 0;
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  return (p) => {
    const now = performance.now();
    const pct = p.total ? ` ${(100 * p.received / p.total).toFixed(0)}%` : "";
    const eta = p.total && p.rate > 0 ? `, ETA ${Math.ceil((p.total - p.received) / p.rate)} s` : "";
    const text = `${p.name}: ${mib(p.received)}${p.total ? `/${mib(p.total)}` : ""} MiB${pct}, ${
      mib(p.rate)
    } MiB/s${eta}`;
    if (isTty) {
      if (p.done || now - last > 100) {
        write(`\r${text}${p.done ? "\n" : ""}`);
        last = now;
      }
    } else if (p.done || now - last > everyMs) {
      write(`${new Date().toISOString()} ${p.done ? `${p.name}: downloaded ${mib(p.received)} MiB` : text}\n`);
      last = now;
    }
  };
}
