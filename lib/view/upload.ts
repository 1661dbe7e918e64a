/**
 * Files chosen or dropped on the page: the request body is streamed into
 * the server's temp folder (`upload<N>/<name>`) up to a size limit (413
 * past it, nothing kept), then read with the CLI's readers; a file they
 * refuse is removed and its error is the CLI's one line, naming the file
 * as the user named it.
 *
 * @module
 */
import { join } from "../core/_std.ts";
import { SiamizeError } from "../core/errors.ts";
import { bytesText } from "../core/limits.ts";
import { formatOf } from "../io/read.ts";
import type { FileRegistry } from "./files.ts";
import { type Opened, openVolume } from "./open.ts";

/** An upload refused: the HTTP status and the one line the page shows. */
export class UploadError extends Error {
  /** HTTP status: 400 bad name or data, 413 too large. */
  readonly status: number;
  /** Creates an error with `status` and the line `message`. */
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The file name an upload is kept under: the base name the page sent, checked (NIfTI or JNIfTI, plain characters). */
export function uploadName(raw: string | null): string {
  const name = (raw ?? "").split(/[\\/]/).pop() ?? "";
  if (!/^[A-Za-z0-9][A-Za-z0-9._ -]{0,200}$/.test(name)) {
    throw new UploadError(400, `siamize: ${JSON.stringify(name.slice(0, 60))}: not a usable file name`);
  }
  if (!formatOf(name)) throw new UploadError(400, `siamize: ${name}: open a .nii, .nii.gz, .jnii or .bnii file`);
  return name;
}

let uploads = 0;

/**
 * Saves `body` as `name` under `folder` (at most `limit` bytes) and opens it
 * with the CLI's readers; on any failure nothing of it is kept.
 */
export async function receiveUpload(
  body: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
  name: string,
  limit: number,
  files: FileRegistry,
  folder: string,
): Promise<Opened> {
  const tooBig = () => new UploadError(413, `siamize: ${name}: larger than the upload limit, ${bytesText(limit)}`);
  if (declared !== undefined && declared > limit) {
    await body?.cancel();
    throw tooBig();
  }
  if (!body) throw new UploadError(400, `siamize: ${name}: empty upload`);
  const dir = join(folder, `upload${++uploads}`);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, name);
  try {
    const file = await Deno.open(path, { write: true, createNew: true });
    const w = file.writable.getWriter();
    try {
      let n = 0;
      for await (const chunk of body) {
        n += chunk.length;
        if (n > limit) throw tooBig();
        await w.write(chunk);
      }
      await w.close();
    } catch (e) {
      await w.abort().catch(() => {});
      throw e;
    }
    try {
      return await openVolume(path, files, dir);
    } catch (e) {
      // The CLI's line, with the file named as the user named it.
      const msg = e instanceof SiamizeError ? e.message : (e as Error).message;
      throw new UploadError(400, `siamize: ${msg.replaceAll(path, name)}`);
    }
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
