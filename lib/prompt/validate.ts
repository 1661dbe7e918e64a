/**
 * Checks of prompts against the image they are for: a box inside the image
 * and not inverted, points inside; errors are usage errors (exit 64) naming
 * the flag and the image size.
 *
 * @module
 */
import { UsageError } from "../core/errors.ts";
import type { Prompt } from "./prompts.ts";

/** `W x H (x 0..W-1, y 0..H-1)` for messages. */
function size(height: number, width: number): string {
  return `${width}x${height} image (x 0..${width - 1}, y 0..${height - 1})`;
}

/**
 * Throws a {@linkcode UsageError} for a prompt that does not fit an (H, W)
 * image: box corners or points outside `[0, W-1] x [0, H-1]`, `x2 < x1` or
 * `y2 < y1`, non-finite numbers. `where` prefixes the message (a file name
 * for prompts files).
 *
 * @example
 * ```ts
 * import { checkPrompt } from "./validate.ts";
 *
 * try {
 *   checkPrompt({ box: [10, 10, 300, 20] }, 181, 217);
 * } catch (e) {
 *   console.log((e as Error).message); // "--box 10 10 300 20: outside the 217x181 image (x 0..216, y 0..180)"
 * }
 * ```
 */
export function checkPrompt(prompt: Prompt, height: number, width: number, where = ""): void {
  const pre = where ? `${where}: ` : "";
  const inside = (x: number, y: number) =>
    Number.isFinite(x) && Number.isFinite(y) && x >= 0 && y >= 0 &&
    x <= width - 1 && y <= height - 1;
  if (prompt.box) {
    const [x1, y1, x2, y2] = prompt.box;
    const flag = `${pre}--box ${prompt.box.join(" ")}`;
    if (!inside(x1, y1) || !inside(x2, y2)) throw new UsageError(`${flag}: outside the ${size(height, width)}`);
    if (x2 < x1 || y2 < y1) {
      throw new UsageError(`${flag}: inverted (x2 < x1 or y2 < y1) on the ${size(height, width)}`);
    }
  }
  for (const p of prompt.points ?? []) {
    if (!inside(p.x, p.y)) {
      throw new UsageError(`${pre}--point ${p.x} ${p.y}: outside the ${size(height, width)}`);
    }
  }
}
