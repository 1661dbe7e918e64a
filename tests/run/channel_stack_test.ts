import { assertEquals, assertThrows } from "../_assert.ts";
import { shippedCard } from "../../lib/cards/shipped.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { channelsOf4D, checkChannelCount, stackChannels } from "../../lib/run/channel_stack.ts";

const hno = shippedCard("hnoseg-xs-brats")!;
const vol = (v: number, dims = [2, 3, 4]) => makeVolume(new Float32Array(24).fill(v), dims);

Deno.test("stackChannels: K volumes in the card's order become one (x, y, z, K) volume", () => {
  const s = stackChannels([vol(1), vol(2), vol(3), vol(4)], ["a", "b", "c", "d"], hno);
  assertEquals(s.dims, [2, 3, 4, 4]);
  assertEquals([s.data[0], s.data[24], s.data[48], s.data[72]], [1, 2, 3, 4]);
});

Deno.test("channel checks: the count and the grids are refused in one line naming the files, as the CLI says", () => {
  assertThrows(
    () => checkChannelCount(3, hno, "a,b,c"),
    /^a,b,c: 3 files; the HNOSeg-XS BraTS card needs 4 \(t1c, t1n, t2f, t2w\)$/,
  );
  assertThrows(() => checkChannelCount(2, shippedCard("siam-v0.3")!, "a,b"), /takes one image, got 2/);
  assertThrows(
    () =>
      stackChannels([vol(1), vol(2), makeVolume(new Float32Array(24), [4, 3, 2]), vol(4)], ["a", "b", "c", "d"], hno),
    /^c: grid 4x3x2 differs from a \(2x3x4\); channels must share one grid$/,
  );
  assertThrows(
    () => channelsOf4D(vol(1), "one.nii", hno),
    /^one\.nii: 1 volume\(s\); the HNOSeg-XS BraTS card needs 4/,
  );
});
