/**
 * zlib's gunzip (`node:zlib`), loaded on first use, so that the modules that
 * read gzip data ({@linkcode ../io/gzip.ts}) can be bundled for a browser,
 * where only the native `DecompressionStream` exists (there a multi-member
 * gzip file is an error naming the file). Re-exported by `_std.ts`.
 *
 * @module
 */

/**
 * gunzip with zlib's member handling (`node:zlib`): every member of a
 * multi-member file, trailing zero padding skipped (as `gzip -dc` and
 * Python's gzip do); rejects truncated data and other trailing bytes.
 * With `maxOutput`, inflating stops with an error (code
 * `ERR_BUFFER_TOO_LARGE`) as soon as the output would pass it.
 */
export async function gunzipAll(data: Uint8Array, maxOutput?: number): Promise<Uint8Array> {
  let zlib: typeof import("node:zlib");
  try {
    zlib = await import("node:zlib");
  } catch {
    throw new Error("multi-member gzip data needs zlib, which this runtime (a browser) does not have");
  }
  const opts = maxOutput !== undefined && Number.isFinite(maxOutput) ? { maxOutputLength: Math.max(1, maxOutput) } : {};
  return await new Promise((res, rej) =>
    zlib.gunzip(
      data,
      opts,
      (e, out) => (e ? rej(e) : res(new Uint8Array(out.buffer, out.byteOffset, out.byteLength))),
    )
  );
}
