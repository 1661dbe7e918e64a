import { join } from "../../lib/core/_std.ts";
import { affineToQuaternion } from "../../lib/geometry/affine.ts";
import { InputError } from "../../lib/core/errors.ts";
import { readVolume, writeVolume } from "../../lib/io/read.ts";
import { escapeControlsInStrings, parseJnifti } from "../../lib/io/jnifti.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { assert, assertClose, assertEquals, assertRejects } from "../_assert.ts";
import { arr, asBigEndian, bj, int, obj, str, typed, typedNd } from "../_bjbytes.ts";
import { havePython, PYTHON, tempDir } from "../_fixtures.ts";

/** The JData spec's 2x3x4 example array (row-major: last index fastest). */
const SPEC = [[[1, 9, 6, 0], [2, 9, 3, 1], [8, 0, 9, 6]], [[6, 4, 2, 7], [8, 5, 1, 2], [3, 3, 2, 6]]];
/** SPEC's values in NIfTI order (x fastest) for dims [2, 3, 4]. */
const SPEC_X_FASTEST = (() => {
  const out: number[] = [];
  for (let z = 0; z < 4; z++) for (let y = 0; y < 3; y++) for (let x = 0; x < 2; x++) out.push(SPEC[x][y][z]);
  return out;
})();
const AFFINE = [[0, 0, 1.5, -30], [-1, 0, 0, 40], [0, 2, 0, -50], [0, 0, 0, 1]];

const enc = (doc: unknown) => new TextEncoder().encode(JSON.stringify(doc));

/** zlib with the platform's stream (independent of lib/io/gzip.ts). */
async function zlib(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

function base64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

/** Row-major float32 values as the C++ siamize writes a map: zlib of the 4-byte-shuffled bytes, base64. */
async function shuffledSingle(values: number[]): Promise<Record<string, unknown>> {
  const src = new Uint8Array(Float32Array.from(values).buffer), n = values.length;
  const shuffled = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < 4; k++) shuffled[k * n + i] = src[i * 4 + k];
  return {
    _ArrayType_: "single",
    _ArraySize_: [2, 3, 4],
    _ArrayZipType_: "zlib",
    _ArrayZipSize_: [1, n],
    _ArrayShuffle_: 4,
    _ArrayZipData_: base64(await zlib(shuffled)),
  };
}

/** A minimal JNIfTI text document around a NIFTIData value. */
function doc(nd: unknown, hdr: Record<string, unknown> = {}): Uint8Array {
  return enc({ NIFTIHeader: { Dim: [2, 3, 4], Affine: AFFINE.slice(0, 3), ...hdr }, NIFTIData: nd });
}

Deno.test("JNIfTI QForm/SForm given as the spec's names pick the geometry as the codes do", async () => {
  const q = affineToQuaternion(AFFINE);
  const quat = {
    Quatern: { b: q.b, c: q.c, d: q.d },
    QuaternOffset: { x: q.offset[0], y: q.offset[1], z: q.offset[2] },
  };
  const other = [[2, 0, 0, 1], [0, 2, 0, 2], [0, 0, 2, 3]];
  const codes: [string, number][] = [
    ["scanner_anat", 1],
    ["aligned_anat", 2],
    ["talairach", 3],
    ["mni_152", 4],
    ["template_other", 5],
    ["", 0],
    ["unknown", 0],
  ];
  for (const [name, code] of codes) {
    const v = await parseJnifti(
      "n.jnii",
      enc({
        NIFTIHeader: { SForm: name, QForm: "scanner_anat", Affine: other, VoxelSize: q.pixdim, QFac: q.qfac, ...quat },
        NIFTIData: SPEC,
      }),
    );
    assertEquals([v.header.sformCode, v.header.qformCode], [code, 1], name);
    // SForm > 0: the Affine rows; SForm 0: the quaternion (AFFINE), never the centred pixdim box.
    const want = code > 0 ? [...other, [0, 0, 0, 1]] : AFFINE;
    assertClose(v.affine.flat(), want.flat(), 1e-6, { message: name });
  }
});

Deno.test("JNIfTI _ArrayType_: every spec name (and alias) decodes to the exact values", async () => {
  const cases: [string, { buffer: ArrayBufferLike }, number[]][] = [];
  const put = (type: string, a: { buffer: ArrayBufferLike }, want: number[]) => cases.push([type, a, want]);
  const ints = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
  put("uint8", Uint8Array.from(ints, (i) => 255 - i), ints.map((i) => 255 - i));
  put("int8", Int8Array.from(ints, (i) => -i - 1), ints.map((i) => -i - 1));
  put("int16", Int16Array.from(ints, (i) => -30000 + i), ints.map((i) => -30000 + i));
  put("uint16", Uint16Array.from(ints, (i) => 65000 + i), ints.map((i) => 65000 + i));
  put("int32", Int32Array.from(ints, (i) => -2147483647 + i), ints.map((i) => -2147483647 + i));
  put("uint32", Uint32Array.from(ints, (i) => 4294967295 - i), ints.map((i) => 4294967295 - i));
  put("int64", BigInt64Array.from(ints, (i) => BigInt(-(2 ** 53) + 1 + i)), ints.map((i) => -(2 ** 53) + 1 + i));
  put("uint64", BigUint64Array.from(ints, (i) => BigInt(2 ** 53 - 1 - i)), ints.map((i) => 2 ** 53 - 1 - i));
  put("single", Float32Array.from(ints, (i) => i + 0.25), ints.map((i) => i + 0.25));
  put("float32", Float32Array.from(ints, (i) => -i - 0.5), ints.map((i) => -i - 0.5));
  put("double", Float64Array.from(ints, (i) => i / 3), ints.map((i) => i / 3));
  put("float64", Float64Array.from(ints, (i) => -i / 7), ints.map((i) => -i / 7));
  put("half", Uint16Array.from(ints, (i) => 0x3c00 + (i << 5)), ints.map((i) => 1 + i / 32)); // 1 + i/32 in float16
  put("logical", Uint8Array.from(ints, (i) => i % 2), ints.map((i) => i % 2));
  put("DOUBLE", Float64Array.from(ints, (i) => i * 1e-3), ints.map((i) => i * 1e-3)); // names are case-insensitive
  for (const [type, a, want] of cases) {
    const bytes = new Uint8Array(a.buffer as ArrayBuffer);
    // `a` is the row-major serialisation (last index fastest), so compare in that order.
    const zipped = base64(await zlib(bytes));
    const v = await parseJnifti(
      `${type}.jnii`,
      doc({
        _ArrayType_: type,
        _ArraySize_: [2, 3, 4],
        _ArrayZipType_: "zlib",
        _ArrayZipSize_: [1, 24],
        _ArrayZipData_: zipped,
      }),
    );
    const rowMajor: number[] = [];
    for (let x = 0; x < 2; x++) {
      for (let y = 0; y < 3; y++) for (let z = 0; z < 4; z++) rowMajor.push(v.data[x + 2 * (y + 3 * z)]);
    }
    assertEquals(rowMajor, want, type);
    if (["int32", "uint32", "int64", "uint64", "double"].includes(type)) assert(v.data instanceof Float64Array, type);
  }
});

Deno.test("BJData N-D containers, byte arrays and byte matrices in .bnii: nothing flattened, no Affine lost", async () => {
  const flat = SPEC.flat(2);
  const affine12 = [2, 0, 0, 10, 0, 3, 0, 20, 0, 0, 4, 30];
  const header = (affine: number[]) =>
    ["NIFTIHeader", obj(["Dim", typed("U", [2, 3, 4])], ["Affine", affine])] as [
      string,
      number[],
    ];
  const files: [string, Uint8Array][] = [
    // NIFTIData itself an N-D float32 container; Affine a 3x4 double N-D container.
    ["direct", bj(obj(header(typedNd("D", [3, 4], affine12)), ["NIFTIData", typedNd("d", [2, 3, 4], flat)]))],
    // _ArrayData_ as [$U#n bytes; Affine a 3x4 uint8 N-D container (the sample that lost its Affine).
    [
      "bytes",
      bj(obj(
        header(typedNd("U", [3, 4], affine12)),
        [
          "NIFTIData",
          obj(["_ArrayType_", str("uint8")], ["_ArraySize_", typed("U", [2, 3, 4])], [
            "_ArrayData_",
            typed("U", flat),
          ]),
        ],
      )),
    ],
    // Draft-3 column-major N-D container (first index fastest), Affine as plain nested arrays of integers.
    [
      "colmajor",
      bj(obj(
        header(arr(...[0, 1, 2].map((r) => arr(...affine12.slice(4 * r, 4 * r + 4).map(int))))),
        ["NIFTIData", typedNd("I", [2, 3, 4], SPEC_X_FASTEST, true)],
      )),
    ],
  ];
  for (const [name, bytes] of files) {
    const v = await parseJnifti(`${name}.bnii`, bytes);
    assertEquals(v.dims, [2, 3, 4], name);
    assertEquals(Array.from(v.data), SPEC_X_FASTEST, name);
    assertClose(v.affine.slice(0, 3).flat(), affine12, 0, { message: name });
  }
  // Big-endian (Draft 1) N-D container: read in the other byte order.
  const big = asBigEndian(() =>
    bj(obj(header(typedNd("D", [3, 4], affine12)), ["NIFTIData", typedNd("l", [2, 3, 4], flat.map((x) => x - 5))]))
  );
  const v = await parseJnifti("big.bnii", big);
  assertEquals(Array.from(v.data), SPEC_X_FASTEST.map((x) => x - 5));
  assertClose(v.affine.slice(0, 3).flat(), affine12, 0);
});

Deno.test("JNIfTI: direct nested arrays, singleton 4th dimension, ScaleSlope/ScaleOffset, _ArrayOrder_ and shuffle", async () => {
  // The spec's direct form: NIFTIData: [[[...]]], first index x.
  const direct = await parseJnifti("d.jnii", doc(SPEC));
  assertEquals([direct.dims, Array.from(direct.data)], [[2, 3, 4], SPEC_X_FASTEST]);
  assertClose(direct.affine.flat(), AFFINE.flat(), 0);
  // [X, Y, Z, 1] is a 3-D volume, as for NIfTI.
  const four = await parseJnifti(
    "4.jnii",
    doc({ _ArrayType_: "uint8", _ArraySize_: [2, 3, 4, 1], _ArrayData_: SPEC.flat(2) }, { Dim: [2, 3, 4, 1] }),
  );
  assertEquals([four.dims, Array.from(four.data)], [[2, 3, 4], SPEC_X_FASTEST]);
  // Stored values times ScaleSlope plus ScaleOffset.
  const scaled = await parseJnifti(
    "s.jnii",
    doc({ _ArrayType_: "int16", _ArraySize_: [2, 3, 4], _ArrayData_: SPEC.flat(2) }, {
      ScaleSlope: 0.5,
      ScaleOffset: -3,
    }),
  );
  assertClose(scaled.data, SPEC_X_FASTEST.map((x) => x * 0.5 - 3), 0);
  // Column-major annotated data, and _ArrayShuffle_ = element size (the C++ siamize's TPM form).
  const col = await parseJnifti(
    "c.jnii",
    doc({ _ArrayType_: "double", _ArraySize_: [2, 3, 4], _ArrayOrder_: "c", _ArrayData_: SPEC_X_FASTEST }),
  );
  assertEquals(Array.from(col.data), SPEC_X_FASTEST);
  const sh = await parseJnifti("sh.jnii", doc(await shuffledSingle(SPEC.flat(2).map((x) => x / 8))));
  assertClose(sh.data, SPEC_X_FASTEST.map((x) => x / 8), 0);
});

Deno.test("JNIfTI text with raw newlines inside strings reads (as jdata's reader does); other bad JSON does not", async () => {
  const text = new TextDecoder().decode(doc(SPEC, { Description: "PLACEHOLDER" }))
    .replace("PLACEHOLDER", "line one\nline\ttwo");
  assert(text.includes("\n"));
  const v = await parseJnifti("nl.jnii", new TextEncoder().encode(text));
  assertEquals(Array.from(v.data), SPEC_X_FASTEST);
  assertEquals(escapeControlsInStrings('{"a": "x\ny", \n "b": "\\"\r"}'), '{"a": "x\\u000ay", \n "b": "\\"\\u000d"}');
  await assertRejects(
    () => parseJnifti("bad.jnii", new TextEncoder().encode('{"a": [1,}')),
    /bad\.jnii: not a JNIfTI file/,
  );
});

Deno.test("a .bnii that fails in both byte orders reports the real cause; unsupported codecs say so", async () => {
  // A valid big-endian (Draft 1) file whose array type is unsupported: the little-endian attempt fails in the
  // BJData layer, the big-endian one reaches the JNIfTI layer — that is the error to report.
  const bytes = asBigEndian(() =>
    bj(obj(
      ["NIFTIHeader", obj(["Dim", typed("I", [300, 3, 4])])],
      [
        "NIFTIData",
        obj(["_ArrayType_", str("complex128")], ["_ArraySize_", typed("I", [300, 3, 4])], [
          "_ArrayData_",
          typed("U", [1]),
        ]),
      ],
    ))
  );
  const e = await assertRejects(
    () => parseJnifti("c.bnii", bytes),
    /^c\.bnii: NIFTIData: unsupported _ArrayType_ "complex128"$/,
  );
  assert(e instanceof InputError);
  // Truncated: the deeper of the two decoding errors.
  const cut = bj(obj(["NIFTIHeader", obj()], ["NIFTIData", typedNd("d", [2, 3, 4], SPEC.flat(2))])).subarray(0, 60);
  await assertRejects(() => parseJnifti("cut.bnii", cut), /^cut\.bnii: not a JNIfTI file \(BJData: truncated/);
  for (const zt of ["lzma", "zstd", "blosc2"]) {
    await assertRejects(
      () =>
        parseJnifti(
          "z.jnii",
          doc({ _ArrayType_: "uint8", _ArraySize_: [2, 3, 4], _ArrayZipType_: zt, _ArrayZipData_: "AAAA" }),
        ),
      new RegExp(`z\\.jnii: unsupported _ArrayZipType_ "${zt}" \\(zlib and gzip are supported`),
    );
  }
});

Deno.test("round trip: our .jnii/.bnii read back, and the C++ siamize's written form (no QForm/SForm, [1,N], shuffle) reads", async () => {
  await using dir = await tempDir();
  const labels = makeVolume(Uint8Array.from(SPEC_X_FASTEST), [2, 3, 4], AFFINE);
  const maps = makeVolume(Float32Array.from({ length: 48 }, (_, i) => i / 48), [2, 3, 4, 2], AFFINE);
  for (const ext of [".jnii", ".bnii"]) {
    for (const shuffle of [false, true]) {
      const p = join(dir.path, `l${shuffle}${ext}`), q = join(dir.path, `m${shuffle}${ext}`);
      await writeVolume(p, labels, { shuffle });
      await writeVolume(q, maps, { shuffle });
      const l = await readVolume(p), m = await readVolume(q, { allow4D: true });
      assertEquals(Array.from(l.data), SPEC_X_FASTEST);
      assertClose(l.affine.flat(), AFFINE.flat(), 1e-12);
      assertClose(m.data, maps.data, 0);
    }
  }
  // What src/jnifti_io.cpp writes: Affine 3x4 nested, VoxelSize, DataType "single", no QForm/SForm, ZipSize [1, N].
  const cpp = {
    NIFTIHeader: {
      NIIHeaderSize: 348,
      Dim: [2, 3, 4],
      Affine: AFFINE.slice(0, 3),
      VoxelSize: [1, 2, 1.5],
      DataType: "single",
      BitDepth: 32,
    },
    NIFTIData: await shuffledSingle(SPEC.flat(2).map((x) => x / 4)),
  };
  const v = await parseJnifti("cpp.jnii", enc(cpp));
  assertClose(v.data, SPEC_X_FASTEST.map((x) => x / 4), 0);
  assertClose(v.affine.flat(), AFFINE.flat(), 0);
});

/** Runs Python code with `path` as argv[1]. */
async function python(code: string, path: string): Promise<void> {
  const r = await new Deno.Command(PYTHON, { args: ["-c", code, path], stdout: "piped", stderr: "piped" }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
}

Deno.test({
  name: "files written by Debian's python3-jdata / python3-bjdata read with their values and affine",
  ignore: !havePython(["jdata", "bjdata", "numpy"]),
  fn: async () => {
    await using dir = await tempDir();
    const script = (opts: string) => `
import sys, json, numpy as np, jdata
a = np.array(${JSON.stringify(SPEC)}, dtype=np.float32) * 0.5
hdr = {"Dim": [2, 3, 4], "QForm": "scanner_anat", "SForm": "aligned_anat",
       "Affine": np.array(${JSON.stringify(AFFINE.slice(0, 3))}, dtype=np.float64), "ScaleSlope": 2, "ScaleOffset": 1}
d = {"NIFTIHeader": hdr, "NIFTIData": a}
if sys.argv[1].endswith(".bnii"):
    jdata.save(d, sys.argv[1], ${opts})
else:  # Debian's jdata 0.3.6 savet() writes base64 bytes as null: dump its encoding ourselves
    open(sys.argv[1], "w").write(json.dumps(jdata.encode(d, ${opts}), default=lambda b: b.decode() if isinstance(b, bytes) else b.tolist()))
`;
    const forms: [string, string][] = [
      ["zlib.jnii", `{"compression": "zlib", "base64": True}`],
      ["plain.jnii", "{}"],
      ["zlib.bnii", `{"compression": "zlib"}`],
      // (Debian's bjdata 0.2.5 encodes no NumPy values, so only the compressed .bnii; N-D containers are built above.)
    ];
    for (const [name, opts] of forms) {
      const p = join(dir.path, name);
      await python(script(opts), p);
      const v = await readVolume(p);
      assertEquals(v.dims, [2, 3, 4], name);
      assertClose(v.data, SPEC_X_FASTEST.map((x) => x * 0.5 * 2 + 1), 0, { message: name });
      assertClose(v.affine.flat(), AFFINE.flat(), 0, { message: name });
      // "aligned_anat" is SForm 2; a QForm without a quaternion counts as none.
      assertEquals([v.header.qformCode, v.header.sformCode], [0, 2], name);
    }
  },
});

Deno.test("JNIfTI: a zlib payload inflating past _ArraySize_, a size above the ceiling, deep JSON: one-line errors", async () => {
  // 2x3x4 uint8 declared, 16 MiB of zeros zipped (about 16 kB).
  const bomb = await zlib(new Uint8Array(16 * 2 ** 20));
  const e = await assertRejects(
    () =>
      parseJnifti(
        "bomb.jnii",
        doc({ _ArrayType_: "uint8", _ArraySize_: [2, 3, 4], _ArrayZipType_: "zlib", _ArrayZipData_: base64(bomb) }),
      ),
    /bomb\.jnii: zlib payload inflates past the 24 bytes its array size declares/,
  );
  assertEquals((e as InputError).exitCode, 65);
  // Only _ArrayZipSize_ given: it bounds the output as well.
  await assertRejects(
    () =>
      parseJnifti(
        "zs.jnii",
        doc({ _ArrayType_: "uint8", _ArrayZipSize_: [1, 24], _ArrayZipType_: "zlib", _ArrayZipData_: base64(bomb) }),
      ),
    /zs\.jnii: zlib payload inflates past the 24 bytes/,
  );
  // A declared 2^40 doubles: refused before inflating anything.
  await assertRejects(
    () =>
      parseJnifti(
        "huge.jnii",
        doc({ _ArrayType_: "double", _ArraySize_: [1024, 1024, 1048576], _ArrayZipData_: base64(bomb) }),
      ),
    /huge\.jnii: array size declares 8\.0 TiB of data; the limit is 8\.0 GiB/,
  );
  const deep = new TextEncoder().encode(`{"NIFTIData": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
  await assertRejects(
    () => parseJnifti("deep.jnii", deep),
    /deep\.jnii: not a JNIfTI file \(JSON nested deeper than 256/,
  );
});
