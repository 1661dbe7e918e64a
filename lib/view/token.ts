/**
 * The access token of a `siamize view` server: random, in the path of every
 * URL the page uses (`/<token>/…`), compared in constant time.
 *
 * @module
 */

/** A fresh random token: 32 hex digits (128 bits from the system's CSPRNG). */
export function makeToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Whether `given` equals `token`, in time that depends only on their lengths. */
export function sameToken(given: string, token: string): boolean {
  if (given.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) diff |= given.charCodeAt(i) ^ token.charCodeAt(i);
  return diff === 0;
}

/**
 * Splits a request path into the token and the rest: `/<token>/api/state`
 * → `["<token>", "api/state"]`; undefined when the path has no token part.
 */
export function splitTokenPath(pathname: string): [string, string] | undefined {
  const m = pathname.match(/^\/([^/]+)(?:\/(.*))?$/);
  if (!m) return undefined;
  return [m[1], m[2] ?? ""];
}
