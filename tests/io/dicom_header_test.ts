import { sliceHeader } from "../../lib/io/dicom_header.ts";
import { assertEquals } from "../_assert.ts";
import { haveFile, tempDir } from "../_fixtures.ts";
import { dicomFile, element, writeMultiFrame, writeSeries } from "./_dicom_writer.ts";
import { concatBytes } from "../../lib/core/bytes.ts";

const text = (s: string) => new TextEncoder().encode(s.length % 2 ? s + " " : s);
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const tagBytes = (g: number, e: number) => new Uint8Array(new Uint16Array([g, e]).buffer);
const cat = (...parts: Uint8Array[]) => concatBytes(parts);
const GEOMETRY = {
  uid: "1.2.826.0.1.3680043.9.7777.8",
  instance: 12,
  position: [-5.5, 20, 31.25],
  orientation: [1, 0, 0, 0, 1, 0],
};

Deno.test("slice header: the geometry tags of our writer's files; a multi-frame file has no top-level position", async () => {
  await using d = await tempDir();
  const affine = [[-0.9, 0, 0, 40], [0, 0.8, 0, -20], [0, 0, 1.5, -30], [0, 0, 0, 1]];
  const spec = {
    stored: new Int16Array(4 * 3 * 2),
    dims: [4, 3, 2],
    affine,
    slope: 1,
    intercept: 0,
    seriesNumber: 2,
    description: "h",
    uid: "1.2.3.4",
    instance: (z: number) => 7 - z,
  };
  const [, second] = await writeSeries(d.path, spec);
  const h = sliceHeader(await Deno.readFile(`${d.path}/${second}`));
  assertEquals(h?.uid, "1.2.3.4");
  assertEquals(h?.instance, 6);
  assertEquals(h?.position, [-40, 20, -28.5]); // LPS of the RAS (40, -20, -30 + 1.5)
  assertEquals(h?.orientation, [1, 0, 0, 0, -1, 0]);
  await writeMultiFrame(`${d.path}/mf`, spec);
  const m = sliceHeader(await Deno.readFile(`${d.path}/mf`));
  assertEquals([m?.uid, m?.instance, m?.position], ["1.2.3.4", 1, undefined]);
});

Deno.test("slice header: undefined-length sequences before group 0020 are skipped, explicit and implicit VR", () => {
  const g = GEOMETRY;
  // explicit: (0008,1140) SQ of undefined length, one undefined-length item with two elements
  const explicitSq = cat(
    tagBytes(8, 0x1140),
    text("SQ"),
    new Uint8Array(2),
    u32(0xffffffff),
    tagBytes(0xfffe, 0xe000),
    u32(0xffffffff),
    element(8, 0x1150, "UI", text("1.2.840.10008.5.1.4.1.1.4")),
    element(8, 0x1155, "UI", text("9.8.7")),
    tagBytes(0xfffe, 0xe00d),
    u32(0),
    tagBytes(0xfffe, 0xe0dd),
    u32(0),
  );
  const body = [
    element(0x20, 0x0e, "UI", text(g.uid)),
    element(0x20, 0x13, "IS", text(String(g.instance))),
    element(0x20, 0x32, "DS", text(g.position.join("\\"))),
    element(0x20, 0x37, "DS", text(g.orientation.join("\\"))),
    element(0x28, 0x10, "US", new Uint8Array([2, 0])),
  ];
  const meta = dicomFile([], "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5");
  assertEquals(sliceHeader(cat(meta, element(8, 0x60, "CS", text("MR")), explicitSq, ...body)), g);
  // implicit VR little endian: the same, with 8-byte element heads
  const imp = (gr: number, e: number, v: Uint8Array) => cat(tagBytes(gr, e), u32(v.length), v);
  const implicitSq = cat(
    tagBytes(8, 0x1140),
    u32(0xffffffff),
    tagBytes(0xfffe, 0xe000),
    u32(0xffffffff),
    imp(8, 0x1155, text("9.8.7")),
    tagBytes(0xfffe, 0xe00d),
    u32(0),
    tagBytes(0xfffe, 0xe0dd),
    u32(0),
  );
  const implicitMeta = dicomFile([], "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5", "1.2.840.10008.1.2");
  const implicit = cat(
    implicitMeta,
    implicitSq,
    imp(0x20, 0x0e, text(g.uid)),
    imp(0x20, 0x13, text(String(g.instance))),
    imp(0x20, 0x32, text(g.position.join("\\"))),
    imp(0x20, 0x37, text(g.orientation.join("\\"))),
  );
  assertEquals(sliceHeader(implicit), g);
});

Deno.test("slice header: a damaged or foreign file gives undefined, never throws", () => {
  const meta = dicomFile([], "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5");
  const open = cat(meta, element(0x20, 0x0e, "UI", text("1.2")).subarray(0, 9)); // cut inside an element
  assertEquals(sliceHeader(open)?.uid, undefined);
  assertEquals(sliceHeader(new Uint8Array(100)), undefined);
  const unclosed = cat(
    meta,
    tagBytes(8, 0x1140),
    text("SQ"),
    new Uint8Array(2),
    u32(0xffffffff),
    tagBytes(0xfffe, 0xe000),
  );
  assertEquals(sliceHeader(unclosed), undefined);
  const bigEndian = dicomFile([], "1.2.840.10008.5.1.4.1.1.4", "1.2.3.4.5", "1.2.840.10008.1.2.2");
  assertEquals(sliceHeader(bigEndian), undefined);
});

Deno.test({
  name: "slice header: dcmtk's implicit-VR and big-endian copies (dcmconv +ti / +tb)",
  ignore: !haveFile("/usr/bin/dcmconv"),
  fn: async () => {
    await using d = await tempDir();
    const spec = {
      stored: new Int16Array(4 * 3 * 2),
      dims: [4, 3, 2],
      affine: [[-0.9, 0, 0, 40], [0, 0.8, 0, -20], [0, 0, 1.5, -30], [0, 0, 0, 1]],
      slope: 1,
      intercept: 0,
      seriesNumber: 2,
      description: "h",
      uid: "1.2.3.4",
    };
    const [name] = await writeSeries(d.path, spec);
    const src = `${d.path}/${name}`;
    const want = sliceHeader(await Deno.readFile(src));
    for (const [flag, readable] of [["+ti", true], ["+tb", false]] as const) {
      const out = `${d.path}/conv${flag}`;
      const r = await new Deno.Command("/usr/bin/dcmconv", { args: [flag, src, out] }).output();
      assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
      assertEquals(sliceHeader(await Deno.readFile(out)), readable ? want : undefined);
    }
  },
});
