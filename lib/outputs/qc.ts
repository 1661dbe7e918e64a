/**
 * QC picture: 3 axial, 3 coronal and 3 sagittal slices through the head,
 * the scan in grey with the labels as a translucent colour overlay, and a
 * legend of the classes present. Drawn in RAS with equal millimetres per
 * pixel in every panel (neurological: the subject's right on the right,
 * marked L/R on axial and coronal panels, P/A on sagittal ones).
 *
 * @module
 */
import { invert, multiply } from "../geometry/affine.ts";
import { nonzeroBox } from "../geometry/crop.ts";
import type { ClassInfo } from "../cards/card.ts";
import type { Volume } from "../core/types.ts";
import { toCanonical } from "../geometry/orient.ts";
import { blank, drawText, encodePng, fillRect, type RgbImage, textWidth } from "../io/png.ts";

/** Options for {@linkcode qcPicture}. */
export interface QcOptions {
  /** Title line (e.g. the input's name). */
  title?: string;
  /** Panel size in pixels (the longest head extent). @default 220 */
  panel?: number;
  /** Overlay opacity. @default 0.45 */
  alpha?: number;
}

/** Grey window: 1st and 99th percentiles of the nonzero voxels. */
function window(data: ArrayLike<number>): [number, number] {
  const step = Math.max(1, Math.floor(data.length / 500_000));
  const s: number[] = [];
  for (let i = 0; i < data.length; i += step) if (data[i] !== 0 && Number.isFinite(data[i])) s.push(data[i]);
  if (!s.length) return [0, 1];
  s.sort((a, b) => a - b);
  const lo = s[Math.floor(s.length * 0.01)], hi = s[Math.floor(s.length * 0.99)];
  return [lo, hi > lo ? hi : lo + 1];
}

/** Colour of the side markers (L/R, P/A). */
export const MARKER_COLOR: [number, number, number] = [0, 255, 255];

/** The classes with at least one voxel in `labels`, in table order. */
export function presentClasses(labels: Volume, table: ClassInfo[]): ClassInfo[] {
  const seen = new Uint8Array(256);
  const d = labels.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v >= 0 && v < 256) seen[v] = 1;
  }
  return table.filter((c) => c.index >= 0 && c.index < 256 && seen[c.index]);
}

/** Renders the montage as an RGB image. */
export function qcImage(scan: Volume, labels: Volume, table: ClassInfo[], o: QcOptions = {}): RgbImage {
  const can = toCanonical({ data: scan.data, dims: scan.dims.slice(0, 3), affine: scan.affine });
  const [nx, ny, nz] = can.dims;
  const vs = [0, 1, 2].map((j) => Math.hypot(can.affine[0][j], can.affine[1][j], can.affine[2][j]));
  const box = nonzeroBox(can.data, [nz, ny, nx]); // (z, y, x)
  const lo = [box[2][0], box[1][0], box[0][0]], hi = [box[2][1], box[1][1], box[0][1]]; // (x, y, z)
  const extentMm = [0, 1, 2].map((k) => (hi[k] - lo[k]) * vs[k]);
  const P = o.panel ?? 220;
  const mmPerPx = Math.max(...extentMm) / P;
  // Canonical scan voxel -> label voxel (nearest), through world space.
  const toLabel = multiply(invert(labels.affine), can.affine);
  const [lx, ly, lz] = labels.dims;
  const labelAt = (x: number, y: number, z: number): number => {
    const i = Math.round(toLabel[0][0] * x + toLabel[0][1] * y + toLabel[0][2] * z + toLabel[0][3]);
    const j = Math.round(toLabel[1][0] * x + toLabel[1][1] * y + toLabel[1][2] * z + toLabel[1][3]);
    const k = Math.round(toLabel[2][0] * x + toLabel[2][1] * y + toLabel[2][2] * z + toLabel[2][3]);
    if (i < 0 || j < 0 || k < 0 || i >= lx || j >= ly || k >= lz) return -1;
    return labels.data[i + lx * (j + ly * k)];
  };
  const [wlo, whi] = window(can.data);
  const alpha = o.alpha ?? 0.45;
  const gap = 4, titleH = 28, legendW = 330;
  const cols = 3;
  const panelW = Math.ceil(Math.max(extentMm[0], extentMm[1]) / mmPerPx);
  const panelH = Math.ceil(Math.max(extentMm[1], extentMm[2]) / mmPerPx);
  const width = cols * (panelW + gap) + gap + legendW;
  const height = titleH + 3 * (panelH + gap) + gap;
  const img = blank(width, height, [0, 0, 0]);
  drawText(img, (o.title ?? "siamize").slice(0, Math.floor((width - 8) / 12)), 6, 7, [230, 230, 230], 2);
  // Views: [horizontal axis, vertical axis, fixed axis] in canonical (x, y, z).
  const views: [number, number, number, string][] = [[0, 1, 2, "AXIAL"], [0, 2, 1, "CORONAL"], [1, 2, 0, "SAGITTAL"]];
  views.forEach(([h, v, f, name], row) => {
    for (let col = 0; col < 3; col++) {
      const frac = [0.35, 0.5, 0.65][col];
      const fixed = Math.round(lo[f] + frac * (hi[f] - lo[f] - 1));
      const ox = gap + col * (panelW + gap), oy = titleH + gap + row * (panelH + gap);
      const wPx = Math.round(extentMm[h] / mmPerPx), hPx = Math.round(extentMm[v] / mmPerPx);
      const offX = ox + Math.floor((panelW - wPx) / 2), offY = oy + Math.floor((panelH - hPx) / 2);
      for (let py = 0; py < hPx; py++) {
        for (let px = 0; px < wPx; px++) {
          const c = [0, 0, 0];
          c[h] = Math.min(hi[h] - 1, Math.floor(lo[h] + (px + 0.5) * mmPerPx / vs[h]));
          c[v] = Math.min(hi[v] - 1, Math.floor(lo[v] + (hPx - 1 - py + 0.5) * mmPerPx / vs[v]));
          c[f] = fixed;
          const g = can.data[c[0] + nx * (c[1] + ny * c[2])];
          const grey = Math.max(0, Math.min(255, Math.round(((g - wlo) / (whi - wlo)) * 255)));
          let r = grey, gg = grey, b = grey;
          const l = labelAt(c[0], c[1], c[2]);
          const info = l >= 0 ? table[l] : undefined;
          if (info && info.color[3] > 0) {
            r = Math.round(r * (1 - alpha) + info.color[0] * alpha);
            gg = Math.round(gg * (1 - alpha) + info.color[1] * alpha);
            b = Math.round(b * (1 - alpha) + info.color[2] * alpha);
          }
          img.data.set([r, gg, b], ((offY + py) * width + offX + px) * 3);
        }
      }
      const mm = can.affine[f][f] * fixed + can.affine[f][3]; // world position of the slice (canonical: diagonal)
      drawText(img, `${name} ${"XYZ"[f]}=${mm.toFixed(0)}`, ox + 3, oy + 3, [255, 255, 0]);
      // Which side is which: x runs left to right (R on the right), y posterior to anterior.
      const [left, right] = h === 0 ? ["L", "R"] : ["P", "A"];
      const my = offY + Math.floor(hPx / 2) - 7;
      drawText(img, left, offX + 2, my, MARKER_COLOR, 2);
      drawText(img, right, offX + wPx - textWidth(right, 2) - 2, my, MARKER_COLOR, 2);
    }
  });
  // Legend.
  const lx0 = cols * (panelW + gap) + gap + 8;
  let ly0 = titleH + gap;
  presentClasses(labels, table).forEach((c) => {
    if (c.color[3] === 0) return;
    fillRect(img, lx0, ly0, 14, 14, [c.color[0], c.color[1], c.color[2]]);
    drawText(img, `${c.index} ${c.name}`.slice(0, 25), lx0 + 20, ly0, [230, 230, 230], 2);
    ly0 += 20;
  });
  return img;
}

/**
 * Renders the montage (3 axial, 3 coronal, 3 sagittal slices, label overlay,
 * legend) as PNG bytes.
 *
 * @example
 * ```ts ignore
 * import { qcPicture } from "./qc.ts";
 *
 * const r = await segment("T1.nii.gz");
 * await Deno.writeFile("qc.png", await qcPicture(r.input, r.labels, r.labelTable, { title: "T1" }));
 * ```
 */
export function qcPicture(scan: Volume, labels: Volume, table: ClassInfo[], o: QcOptions = {}): Promise<Uint8Array> {
  return encodePng(qcImage(scan, labels, table, o));
}
