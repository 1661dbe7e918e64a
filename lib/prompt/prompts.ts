/**
 * Prompts as SAM's decoder takes them: pixel coordinates (x = column,
 * y = row of the (H, W) slice) scaled to the resized image in float32 (as
 * SAMRI's `apply_coords` does: the ratio in float64, then one float32
 * multiply), and the token list: points first (label 1, or 0 for a
 * negative point), then a box as two corners labelled 2 and 3; without a
 * box, one padding point (0, 0) labelled -1.
 *
 * @module
 */
import { targetSize } from "./preprocess.ts";

/** A point prompt: pixel (x = column, y = row); `label` 1 = inside (default), 0 = outside. */
export interface PointPrompt {
  /** Column. */
  x: number;
  /** Row. */
  y: number;
  /** 1 foreground (default), 0 background. */
  label?: 0 | 1;
}

/** A prompt: a box `[x1, y1, x2, y2]` and/or points. Neither → the whole image. */
export interface Prompt {
  /** `[x1, y1, x2, y2]` in pixels (columns, rows). */
  box?: [number, number, number, number];
  /** Points, in order. */
  points?: PointPrompt[];
}

/** The decoder's prompt inputs. */
export interface DecoderPrompt {
  /** `point_coords`, [1, N, 2] flattened. */
  coords: Float32Array;
  /** `point_labels`, [1, N]. */
  labels: Float32Array;
  /** N. */
  count: number;
}

/** SAMRI's default prompt: the whole image as a box `[0, 0, W-1, H-1]`. */
export function fullImageBox(height: number, width: number): [number, number, number, number] {
  return [0, 0, width - 1, height - 1];
}

/**
 * The decoder's `point_coords` / `point_labels` for a prompt on an (H, W)
 * slice resized so its longest side is `longSide`.
 *
 * @example
 * ```ts
 * import { encodePrompt } from "./prompts.ts";
 *
 * const p = encodePrompt({ box: [100, 50, 165, 125] }, 181, 217);
 * console.log([...p.coords], [...p.labels]); // [471.889404296875, 235.91160583496094, 778.6174926757812, 589.7789916992188] [2, 3]
 * ```
 */
export function encodePrompt(prompt: Prompt, height: number, width: number, longSide = 1024): DecoderPrompt {
  const [newh, neww] = targetSize(height, width, longSide);
  const rx = Math.fround(neww / width), ry = Math.fround(newh / height);
  const sx = (x: number) => Math.fround(Math.fround(x) * rx);
  const sy = (y: number) => Math.fround(Math.fround(y) * ry);
  const points = prompt.points ?? [];
  const box = prompt.box ?? (points.length === 0 ? fullImageBox(height, width) : undefined);
  const xy: number[] = [], labels: number[] = [];
  for (const p of points) {
    xy.push(sx(p.x), sy(p.y));
    labels.push(p.label ?? 1);
  }
  if (box) {
    xy.push(sx(box[0]), sy(box[1]), sx(box[2]), sy(box[3]));
    labels.push(2, 3);
  } else {
    xy.push(0, 0);
    labels.push(-1);
  }
  return { coords: new Float32Array(xy), labels: new Float32Array(labels), count: labels.length };
}
