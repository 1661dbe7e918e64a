import { describeGaps } from "../../lib/io/dicom_gaps.ts";
import type { SliceHeader } from "../../lib/io/dicom_header.ts";
import { assertEquals } from "../_assert.ts";

const AXIAL = [1, 0, 0, 0, 1, 0]; // normal +z
const slice = (instance: number, z: number, orientation = AXIAL): SliceHeader => ({
  uid: "1.2.3",
  instance,
  position: [-10, 20, z],
  orientation,
});
/** Slices at z = 2 * (i - 1) mm for these instance numbers. */
const at = (instances: number[]) => instances.map((i) => slice(i, 2 * (i - 1)));

Deno.test("a regular series has no gaps; so does one without geometry", () => {
  assertEquals(describeGaps(at([1, 2, 3, 4, 5])), []);
  assertEquals(describeGaps([{ instance: 1 }, { instance: 2 }]), []);
});

Deno.test("missing slices are named by the instances and positions on either side", () => {
  assertEquals(describeGaps(at([1, 2, 3, 5, 6])), ["missing slice between instance 3 and 5 (z = 4.0 → 8.0 mm)"]);
  assertEquals(describeGaps(at([1, 2, 5, 6, 7])), ["2 missing slices between instance 2 and 5 (z = 2.0 → 8.0 mm)"]);
  assertEquals(describeGaps(at([1, 2, 4])), ["missing slice between instance 2 and 4 (z = 2.0 → 6.0 mm)"]);
  // shuffled input, instance numbers running against z: listed in instance order
  const against = [1, 2, 3, 5, 6].map((i) => slice(i, 20 - 2 * i)).reverse();
  assertEquals(describeGaps(against), ["missing slice between instance 3 and 5 (z = 14.0 → 10.0 mm)"]);
});

Deno.test("varying spacing, two slices at one position and a tilted slice are named; past three, counted", () => {
  const s = at([1, 2, 3, 4, 5, 6]);
  s[5] = slice(6, 10.7);
  assertEquals(describeGaps(s), ["spacing 2.7 mm (not 2.0) between instance 5 and 6 (z = 8.0 → 10.7 mm)"]);
  assertEquals(describeGaps([...at([1, 2, 3, 4]), slice(9, 4)]), [
    "two slices at one position: instance 3 and 9 (z = 4.0 → 4.0 mm)",
  ]);
  const tilted = at([1, 2, 3, 4]);
  tilted[2] = slice(3, 4, [1, 0, 0, 0, 0.9, 0.43589]);
  assertEquals(describeGaps(tilted)[0], "orientation differs at instance 3");
  const many = at([1, 3, 5, 7, 9, 11, 13]).concat(at([14, 15, 16, 17, 18, 19]));
  assertEquals(describeGaps(many).length, 4);
  assertEquals(describeGaps(many)[3], "and 3 more");
});
