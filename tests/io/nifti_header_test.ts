import {
  decodeHeader,
  encodeHeader,
  FIELD_BYTES,
  fieldLayout,
  HEADER_FIELDS,
  HEADER_SIZE,
  type HeaderField,
  parseHeader,
  type RawHeader,
} from "../../lib/io/nifti_header.ts";
import { assert, assertEquals } from "../_assert.ts";

const FIELDS = HEADER_FIELDS as readonly HeaderField[];

function layout(version: 1 | 2): Map<string, { at: number; end: number }> {
  const m = new Map<string, { at: number; end: number }>();
  for (const f of FIELDS) {
    const l = fieldLayout(f, version);
    if (l) m.set(f.name, { at: l.at, end: l.at + f.count * FIELD_BYTES[l.type] });
  }
  return m;
}

Deno.test("header table: NIfTI-1 fields tile the 348 bytes, at nifti1.h's offsets", () => {
  const m = layout(1);
  const at = (name: string) => m.get(name)?.at;
  assertEquals(at("sizeof_hdr"), 0);
  assertEquals(at("dim_info"), 39);
  assertEquals(at("dim"), 40);
  assertEquals(at("datatype"), 70);
  assertEquals(at("pixdim"), 76);
  assertEquals(at("vox_offset"), 108);
  assertEquals(at("descrip"), 148);
  assertEquals(at("qform_code"), 252);
  assertEquals(at("srow_x"), 280);
  assertEquals(at("intent_name"), 328);
  assertEquals(at("magic"), 344);
  assertEquals(m.get("magic")?.end, 348);
  assert(!m.has("eol_check") && !m.has("unused_str"));
});

Deno.test("header table: NIfTI-2 fields tile the 540 bytes, at nifti2.h's offsets", () => {
  const m = layout(2);
  const at = (name: string) => m.get(name)?.at;
  assertEquals(at("sizeof_hdr"), 0);
  assertEquals(at("magic"), 4);
  assertEquals(at("datatype"), 12);
  assertEquals(at("dim"), 16);
  assertEquals(at("pixdim"), 104);
  assertEquals(at("vox_offset"), 168);
  assertEquals(at("slice_start"), 224);
  assertEquals(at("descrip"), 240);
  assertEquals(at("qform_code"), 344);
  assertEquals(at("srow_x"), 400);
  assertEquals(at("slice_code"), 496);
  assertEquals(at("intent_name"), 508);
  assertEquals(at("dim_info"), 524);
  assertEquals(m.get("unused_str")?.end, 540);
  assert(!m.has("glmax") && !m.has("db_name"));
});

Deno.test("header table: no two fields overlap, no gaps, names unique", () => {
  assertEquals(new Set(FIELDS.map((f) => f.name)).size, FIELDS.length);
  for (const version of [1, 2] as const) {
    const spans = [...layout(version)].sort((a, b) => a[1].at - b[1].at);
    let next = 0;
    for (const [name, { at, end }] of spans) {
      assertEquals(at, next, `NIfTI-${version} ${name} starts at ${at}, the previous field ends at ${next}`);
      next = end;
    }
    assertEquals(next, HEADER_SIZE[version]);
  }
});

/** A header with a distinct value in every field, exact in float32 and int16. */
function sample(): RawHeader {
  return {
    sizeof_hdr: 0, // replaced per version
    data_type: "dtype",
    db_name: "db",
    extents: 16384,
    session_error: -3,
    regular: 0x72, // "r"
    magic: "", // replaced per version
    eol_check: [13, 10, 26, 10],
    dim_info: 57,
    dim: [4, 91, 109, 91, 3, 1, 1, 1],
    intent_p1: 0.5,
    intent_p2: -2,
    intent_p3: 3.25,
    intent_code: 1002,
    datatype: 16,
    bitpix: 32,
    slice_start: 2,
    pixdim: [-1, 1.5, 2, 2.5, 0.75, 1, 1, 1],
    vox_offset: 352,
    scl_slope: 2,
    scl_inter: -1024,
    slice_end: 88,
    slice_code: 3,
    xyzt_units: 10,
    cal_max: 255,
    cal_min: -8,
    slice_duration: 0.125,
    toffset: 4,
    glmax: 1000,
    glmin: -1000,
    descrip: "siamize header test",
    aux_file: "aux.txt",
    qform_code: 1,
    sform_code: 4,
    quatern_b: 0.25,
    quatern_c: -0.5,
    quatern_d: 0.125,
    qoffset_x: -90,
    qoffset_y: 126.5,
    qoffset_z: -72,
    srow_x: [-1.5, 0, 0, 90],
    srow_y: [0, 2, 0, -126],
    srow_z: [0, 0, 2.5, -72],
    intent_name: "labels",
    unused_str: "spare",
  };
}

Deno.test("header encode → decode round-trips both versions and byte orders", () => {
  for (const version of [1, 2] as const) {
    const m = layout(version);
    for (const le of [true, false]) {
      const h = { ...sample(), sizeof_hdr: HEADER_SIZE[version], magic: `n+${version}` };
      const bytes = encodeHeader(h, version, le);
      assertEquals(bytes.length, HEADER_SIZE[version]);
      const back = decodeHeader(new DataView(bytes.buffer), version, le);
      // Fields the version lacks decode as zeros.
      const expect: Record<string, unknown> = { ...h };
      for (const f of FIELDS) {
        if (!m.has(f.name)) expect[f.name] = f.type === "char" ? "" : f.count === 1 ? 0 : new Array(f.count).fill(0);
      }
      assertEquals(back, expect, `NIfTI-${version} ${le ? "little" : "big"}-endian`);
      // And the full reader accepts it.
      const file = new Uint8Array(HEADER_SIZE[version] + 4 + 91 * 109 * 91 * 3 * 4);
      file.set(bytes);
      const p = parseHeader("t.nii", file);
      assertEquals(p.header.version, version);
      assertEquals(p.header.littleEndian, le);
      assertEquals(p.dims, [91, 109, 91, 3]);
      assertEquals(p.header.srow, h.srow_x && [h.srow_x, h.srow_y, h.srow_z]);
      assertEquals(p.header.intentName, "labels");
      assertEquals(p.offset, version === 1 ? 352 : 544);
    }
  }
});

Deno.test("NIfTI-2 header: 64-bit dims beyond int16 round-trip; strings keep a NUL", () => {
  const bytes = encodeHeader({ dim: [3, 40000, 2, 1, 1, 1, 1, 1], magic: "n+2", descrip: "x".repeat(80) }, 2, true);
  const back = decodeHeader(new DataView(bytes.buffer), 2, true);
  assertEquals(back.sizeof_hdr, 540);
  assertEquals(back.dim.slice(0, 3), [3, 40000, 2]);
  assertEquals(back.descrip, "x".repeat(79));
});
