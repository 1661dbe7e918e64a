/**
 * Test assertions, from `node:assert/strict` for now (JSR's `@std/assert`
 * is out of reach here); tests import them from this file only.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Asserts deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  if (message === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, message);
}
/** Asserts `Object.is` equality. */
export function assertStrictEquals<T>(actual: unknown, expected: T, message?: string): asserts actual is T {
  if (message === undefined) assert.strictEqual(actual, expected);
  else assert.strictEqual(actual, expected, message);
}
/** Asserts a truthy value. */
function assert_(value: unknown, message?: string): asserts value {
  if (message === undefined) assert.ok(value);
  else assert.ok(value, message);
}
export { assert_ as assert };

/** Asserts `fn` rejects with an error whose message matches `pattern`. */
export async function assertRejects(fn: () => Promise<unknown>, pattern: RegExp, message?: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (message === undefined) assert.match(err.message, pattern);
    else assert.match(err.message, pattern, message);
    return err;
  }
  throw new assert.AssertionError({ message: message ?? `expected rejection matching ${pattern}` });
}

/** Asserts `fn` throws an error whose message matches `pattern`. */
export function assertThrows(fn: () => unknown, pattern: RegExp, message?: string): Error {
  try {
    fn();
  } catch (e) {
    const err = e as Error;
    if (message === undefined) assert.match(err.message, pattern);
    else assert.match(err.message, pattern, message);
    return err;
  }
  throw new assert.AssertionError({ message: message ?? `expected throw matching ${pattern}` });
}

/** Asserts |a - b| <= tol elementwise (relative when `relative`). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  { relative = false, message = "" }: { relative?: boolean; message?: string } = {},
): void {
  assert.equal(actual.length, expected.length, `${message} length`);
  let worst = 0, at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const lim = relative ? tol * Math.max(Math.abs(expected[i]), 1e-30) : tol;
    if (!(d <= lim) && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      if (d > worst || at < 0) {
        worst = d;
        at = i;
      }
    }
  }
  if (at >= 0) {
    throw new assert.AssertionError({
      message: `${message} differs at ${at}: ${actual[at]} vs ${expected[at]} (|d|=${worst}, tol ${tol}${
        relative ? " rel" : ""
      })`,
    });
  }
}

/** Asserts `|actual - expected| <= tolerance`. */
export function assertAlmostEquals(actual: number, expected: number, tolerance = 1e-7, message?: string): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new assert.AssertionError({
      message: `${message ? message + ": " : ""}${actual} is not within ${tolerance} of ${expected}`,
    });
  }
}
