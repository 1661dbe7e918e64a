import * as niftiReader from "nifti-reader-js";
import { join } from "../../lib/core/_std.ts";
import { affineToQuaternion, quaternionToAffine } from "../../lib/geometry/affine.ts";
import { InputError } from "../../lib/core/errors.ts";
import { encodeNifti, readNifti, writeNifti } from "../../lib/io/nifti.ts";
import { makeVolume } from "../../lib/io/volume.ts";
import { assert, assertClose, assertEquals, assertRejects } from "../_assert.ts";
import {
  CH2,
  craftNifti,
  type CraftSpec,
  GOLDEN,
  gzipBytes,
  haveFile,
  haveNibabel,
  nibabelLoad,
  tempDir,
  withEnv,
} from "../_fixtures.ts";

const OBLIQUE_SROW = [
  [0.9, -0.3, 0.1, -80],
  [0.25, 1.1, -0.2, -100],
  [-0.05, 0.15, 2.4, -60],
];

function ramp(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

Deno.test("reads every datatype, both byte orders, NIfTI-1 and -2, with scaling", async () => {
  await using dir = await tempDir();
  const dims = [4, 3, 5];
  const n = 60;
  const types: [number, (i: number) => number][] = [
    [2, (i) => (i * 7) % 256],
    [256, (i) => ((i * 7) % 256) - 128],
    [4, (i) => i * 113 - 3000],
    [512, (i) => i * 1000],
    [8, (i) => i * 100003 - 2000000],
    [768, (i) => i * 60000000],
    [16, (i) => Math.sin(i) * 1e3],
    [64, (i) => Math.cos(i) * 1e-3],
    [1024, (i) => i * 1e9 - 3e10],
    [1280, (i) => i * 1e9],
  ];
  for (const version of [1, 2] as const) {
    for (const littleEndian of [true, false]) {
      for (const [datatype, f] of types) {
        for (const [slope, inter] of [[0, 0], [0.5, 10]]) {
          const values = ramp(n, f);
          const bytes = craftNifti({
            version,
            littleEndian,
            datatype,
            dims,
            values,
            slope,
            inter,
            sformCode: 1,
            srow: OBLIQUE_SROW,
          });
          const label = `v${version} ${littleEndian ? "LE" : "BE"} type ${datatype} slope ${slope}`;
          for (const gz of [false, true]) {
            const p = join(dir.path, `t${gz ? ".nii.gz" : ".nii"}`);
            await Deno.writeFile(p, gz ? await gzipBytes(bytes) : bytes);
            const v = await readNifti(p);
            assertEquals(v.dims, dims, label);
            const expected = values.map((x) => (slope ? x * slope + inter : x));
            assertClose(v.data, expected, 1e-5, { relative: true, message: label });
            assertClose(v.affine.flat(), [...OBLIQUE_SROW.flat(), 0, 0, 0, 1], 1e-4, { message: label });
            assertEquals(v.header.version, version);
          }
        }
      }
    }
  }
});

Deno.test("affine: sform wins, else qform (quaternion, qfac), else pixdim", async () => {
  await using dir = await tempDir();
  const p = join(dir.path, "a.nii");
  const q = affineToQuaternion([[0, 0, -2, 10], [1.5, 0, 0, -20], [0, 1, 0, 30], [0, 0, 0, 1]]);
  const pixdim = [q.qfac, ...q.pixdim, 1, 1, 1, 1];
  const quatern: [number, number, number, number, number, number] = [q.b, q.c, q.d, ...q.offset];
  const base = { datatype: 2, dims: [3, 4, 5], values: ramp(60, (i) => i) };
  // qform only
  await Deno.writeFile(p, craftNifti({ ...base, qformCode: 1, quatern, pixdim }));
  let v = await readNifti(p);
  assertClose(v.affine.flat(), [0, 0, -2, 10, 1.5, 0, 0, -20, 0, 1, 0, 30, 0, 0, 0, 1], 1e-5);
  assertClose(v.pixdim, [1.5, 1, 2], 1e-6);
  // sform wins over qform
  await Deno.writeFile(p, craftNifti({ ...base, qformCode: 1, quatern, pixdim, sformCode: 2, srow: OBLIQUE_SROW }));
  v = await readNifti(p);
  assertClose(v.affine.flat().slice(0, 12), OBLIQUE_SROW.flat(), 1e-5);
  // neither: nibabel's base affine (x flipped, centred)
  await Deno.writeFile(p, craftNifti({ ...base, pixdim: [1, 2, 3, 4, 1, 1, 1, 1] }));
  v = await readNifti(p);
  assertClose(v.affine.flat(), [-2, 0, 0, 2, 0, 3, 0, -4.5, 0, 0, 4, -8, 0, 0, 0, 1], 1e-6);
  // quaternion round trip
  assertClose(quaternionToAffine(q).flat(), [0, 0, -2, 10, 1.5, 0, 0, -20, 0, 1, 0, 30, 0, 0, 0, 1], 1e-9);
});

Deno.test("4-D with one volume is 3-D; vox_offset is honoured", async () => {
  await using dir = await tempDir();
  const p = join(dir.path, "a.nii");
  await Deno.writeFile(
    p,
    craftNifti({ datatype: 16, dims: [2, 3, 4, 1], values: ramp(24, (i) => i / 2), voxOffset: 400 }),
  );
  const v = await readNifti(p);
  assertEquals(v.dims, [2, 3, 4]);
  assertClose(v.data, ramp(24, (i) => i / 2), 0);
});

Deno.test("write keeps the source geometry and round-trips; an independent reader agrees", async () => {
  await using dir = await tempDir();
  const src = join(dir.path, "src.nii.gz");
  const q = affineToQuaternion([[0, 0, -2, 10], [1.5, 0, 0, -20], [0, 1, 0, 30], [0, 0, 0, 1]]);
  await Deno.writeFile(
    src,
    await gzipBytes(craftNifti({
      datatype: 4,
      dims: [3, 4, 5],
      values: ramp(60, (i) => i * 3),
      qformCode: 1,
      quatern: [q.b, q.c, q.d, ...q.offset],
      pixdim: [q.qfac, ...q.pixdim, 1, 1, 1, 1],
      sformCode: 4,
      srow: OBLIQUE_SROW,
    })),
  );
  const v = await readNifti(src);
  const labels = makeVolume(new Uint8Array(60).map((_, i) => i % 18), v.dims, v.affine, v.header);
  const out = join(dir.path, "labels.nii.gz");
  await writeNifti(out, labels, { intentCode: 1002 });
  const back = await readNifti(out);
  assertEquals(back.header.datatype, "uint8");
  assertEquals([back.header.qformCode, back.header.sformCode], [1, 4]);
  assertClose(back.affine.flat(), v.affine.flat(), 1e-5);
  assertClose(back.header.quatern, v.header.quatern, 1e-7);
  assertClose(back.data, labels.data, 0);
  // No temp file left beside the output.
  const names = [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
  assertEquals(names, ["labels.nii.gz", "src.nii.gz"]);

  // nifti-reader-js parses what we wrote.
  const raw = encodeNifti(labels);
  const hdr = niftiReader.readHeader(raw.buffer as ArrayBuffer)!;
  assertEquals(hdr.dims.slice(0, 4), [3, 3, 4, 5]);
  assertEquals(hdr.datatypeCode, 2);
  assertEquals([hdr.qform_code, hdr.sform_code], [1, 4]);
  assertClose(hdr.affine.flat(), v.affine.flat(), 1e-5);
});

Deno.test("writing a changed affine updates sform and qform consistently", async () => {
  await using dir = await tempDir();
  const affine = [[0, 0.75, 0, -5], [0, 0, 0.75, 7], [-0.75, 0, 0, 3], [0, 0, 0, 1]];
  const vol = makeVolume(new Float32Array(24).map((_, i) => i), [2, 3, 4], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [
    0,
    0,
    0,
    1,
  ]]);
  vol.affine = affine;
  const p = join(dir.path, "x.nii");
  await writeNifti(p, vol);
  const back = await readNifti(p);
  assertClose(back.affine.flat(), affine.flat(), 1e-6);
  const q = quaternionToAffine({
    b: back.header.quatern[0],
    c: back.header.quatern[1],
    d: back.header.quatern[2],
    offset: back.header.qoffset,
    pixdim: [back.header.pixdim[1], back.header.pixdim[2], back.header.pixdim[3]],
    qfac: back.header.pixdim[0],
  });
  assertClose(q.flat(), affine.flat(), 1e-6);
});

Deno.test("golden phantom: LSA, anisotropic, scl_slope 0.5 / inter 10", async () => {
  const v = await readNifti(join(GOLDEN, "phantom.nii.gz"));
  assertEquals(v.dims, [80, 60, 90]);
  assertClose(v.pixdim, [1.2, 2, 1], 1e-6);
  assertEquals(v.header.datatype, "int16");
  assert(v.data.every((x) => ((x - 10) * 2) % 1 === 0), "values are 0.5*int + 10");
});

for (
  const [name, path] of [
    ["golden phantom", join(GOLDEN, "phantom.nii.gz")],
    ["ch2 (Colin27)", CH2],
  ] as const
) {
  Deno.test({
    name: `matches nibabel get_fdata(): ${name}`,
    ignore: !haveNibabel() || !haveFile(path),
    fn: async () => {
      const v = await readNifti(path);
      const ref = await nibabelLoad(path);
      assertEquals(v.dims, ref.shape);
      assertClose(v.affine.flat(), ref.affine.flat(), 1e-4);
      assertClose(v.data, ref.data, 1e-5, { relative: true });
    },
  });
}

Deno.test({
  name: "matches nibabel on generated NIfTI-1/2, RAS/non-RAS/oblique, uint8/int16+slope/float32",
  ignore: !haveNibabel(),
  fn: async () => {
    await using dir = await tempDir();
    const q = affineToQuaternion([[-1.2, 0, 0, 50], [0, 0, 1, -40], [0, 2, 0, -60], [0, 0, 0, 1]]);
    const specs = [
      { version: 1 as const, datatype: 2, values: ramp(120, (i) => (i * 37) % 256), sformCode: 1, srow: OBLIQUE_SROW },
      {
        version: 2 as const,
        datatype: 4,
        values: ramp(120, (i) => i * 11 - 500),
        slope: 0.25,
        inter: -3,
        qformCode: 1,
        quatern: [q.b, q.c, q.d, ...q.offset] as [number, number, number, number, number, number],
        pixdim: [q.qfac, ...q.pixdim, 1, 1, 1, 1],
      },
      { version: 1 as const, littleEndian: false, datatype: 16, values: ramp(120, (i) => Math.sin(i) * 100) },
    ];
    for (const [k, s] of specs.entries()) {
      const p = join(dir.path, `g${k}.nii${k % 2 ? ".gz" : ""}`);
      const bytes = craftNifti({ ...s, dims: [4, 5, 6] });
      await Deno.writeFile(p, k % 2 ? await gzipBytes(bytes) : bytes);
      const v = await readNifti(p);
      const ref = await nibabelLoad(p);
      assertEquals(v.dims, ref.shape);
      assertClose(v.affine.flat(), ref.affine.flat(), 1e-4, { message: p });
      assertClose(v.data, ref.data, 1e-5, { relative: true, message: p });
    }
  },
});

Deno.test("bad input: one-line errors naming the file", async () => {
  await using dir = await tempDir();
  const p = (name: string) => join(dir.path, name);
  const good = craftNifti({ datatype: 2, dims: [4, 4, 4], values: ramp(64, (i) => i) });
  const cases: [string, Uint8Array | null, RegExp][] = [
    ["missing.nii", null, /missing\.nii: cannot read \(no such file/],
    ["empty.nii", new Uint8Array(0), /empty\.nii: empty file/],
    ["text.nii", new TextEncoder().encode("hello world ".repeat(40)), /text\.nii: not a NIfTI file \(sizeof_hdr/],
    [
      "magic.nii",
      (() => {
        const b = good.slice();
        b.set([0x78, 0x78, 0x78], 344);
        return b;
      })(),
      /magic\.nii: not a NIfTI file \(bad magic "xxx"\)/,
    ],
    ["short.nii", good.slice(0, 200), /short\.nii: not a NIfTI file \(only 200 bytes/],
    [
      "trunc.nii",
      good.slice(0, 380),
      /trunc\.nii: truncated data section: the header claims 4x4x4 uint8 \(64 bytes after offset 352\), the file holds 28/,
    ],
    [
      "vols.nii",
      craftNifti({ datatype: 2, dims: [2, 2, 2, 3], values: ramp(24, (i) => i) }),
      /vols\.nii: 4-D image with 3 volumes/,
    ],
    ["zero.nii", craftNifti({ datatype: 2, dims: [4, 0, 4], values: [] }), /zero\.nii: invalid dimension dim\[2\]=0/],
    ["neg.nii", craftNifti({ datatype: 2, dims: [4, -3, 4], values: [] }), /neg\.nii: invalid dimension dim\[2\]=-3/],
    [
      "rgb.nii",
      craftNifti({ datatype: 128, dims: [2, 2, 2], values: [] }),
      /rgb\.nii: unsupported datatype 128 \(RGB24\)/,
    ],
    [
      "nan.nii",
      craftNifti({
        datatype: 2,
        dims: [2, 2, 2],
        values: ramp(8, (i) => i),
        sformCode: 1,
        srow: [[NaN, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
      }),
      /nan\.nii: non-finite affine \(from the sform\)/,
    ],
  ];
  for (const [name, bytes, re] of cases) {
    if (bytes) await Deno.writeFile(p(name), bytes);
    const e = await assertRejects(() => readNifti(p(name)), re, name);
    assert(e instanceof InputError, name);
    assert(!e.message.includes("\n"), `${name}: one line`);
  }
  // Corrupt and truncated gzip.
  const gz = await gzipBytes(good);
  await Deno.writeFile(p("cut.nii.gz"), gz.slice(0, gz.length - 12));
  await assertRejects(() => readNifti(p("cut.nii.gz")), /cut\.nii\.gz: corrupt or truncated gzip data/);
  const bad = gz.slice();
  for (let i = 20; i < 40; i++) bad[i] ^= 0x5a;
  await Deno.writeFile(p("bad.nii.gz"), bad);
  await assertRejects(() => readNifti(p("bad.nii.gz")), /bad\.nii\.gz: corrupt or truncated gzip data/);
});

Deno.test("NaN voxels are kept as NaN by the reader", async () => {
  await using dir = await tempDir();
  const p = join(dir.path, "n.nii");
  await Deno.writeFile(p, craftNifti({ datatype: 16, dims: [2, 2, 2], values: [1, NaN, 3, 4, 5, 6, 7, 8] }));
  const v = await readNifti(p);
  assert(Number.isNaN(v.data[1]));
});

Deno.test("4-D images with several volumes load with allow4D and round-trip", async () => {
  await using dir = await tempDir();
  const p = join(dir.path, "p.nii.gz");
  const vol = makeVolume(new Float32Array(2 * 3 * 4 * 5).map((_, i) => i / 7), [2, 3, 4, 5]);
  await writeNifti(p, vol);
  await assertRejects(() => readNifti(p), /p\.nii\.gz: 4-D image with 5 volumes/);
  const back = await readNifti(p, { allow4D: true });
  assertEquals(back.dims, [2, 3, 4, 5]);
  assertClose(back.data, vol.data, 0);
});

/** Runs Python with nibabel on `path`; the affine it loads, or its error message. */
async function nibabelAffineOrError(path: string): Promise<number[][] | string> {
  const script = `
import sys, json, nibabel as nib
try:
    print(json.dumps(nib.load(sys.argv[1]).affine.tolist()))
except Exception as e:
    print(json.dumps(str(e)))
`;
  const r = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, path], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

Deno.test("multi-member gzip and gzip with trailing zero padding read whole, like gzip -dc and nibabel", async () => {
  await using dir = await tempDir();
  const values = ramp(4 * 5 * 6, (i) => (i * 13) % 251);
  const bytes = craftNifti({ datatype: 2, dims: [4, 5, 6], values, sformCode: 1, srow: OBLIQUE_SROW });
  // Split inside the header and inside the data: three members, then 512 zero bytes of padding.
  const members = [bytes.subarray(0, 100), bytes.subarray(100, 400), bytes.subarray(400)];
  const gz = await Promise.all(members.map(gzipBytes));
  const cat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
    parts.reduce((at, b) => (out.set(b, at), at + b.length), 0);
    return out;
  };
  const cases: [string, Uint8Array][] = [
    ["multi.nii.gz", cat(gz)],
    ["padded.nii.gz", cat([await gzipBytes(bytes), new Uint8Array(512)])],
    ["multipad.nii.gz", cat([...gz, new Uint8Array(100)])],
  ];
  for (const [name, b] of cases) {
    const p = join(dir.path, name);
    await Deno.writeFile(p, b);
    const v = await readNifti(p);
    assertEquals(v.dims, [4, 5, 6]);
    assertClose(v.data, values, 0, { message: name });
    assertClose(v.affine.slice(0, 3).flat(), OBLIQUE_SROW.flat(), 1e-6, { message: name });
    if (haveNibabel()) assertClose((await nibabelLoad(p)).data, values, 0, { message: `nibabel ${name}` });
  }
  // Not zeros after the member: still an error.
  const p = join(dir.path, "junk.nii.gz");
  await Deno.writeFile(p, cat([await gzipBytes(bytes), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])]));
  await assertRejects(() => readNifti(p), /junk\.nii\.gz: corrupt or truncated gzip data/);
});

Deno.test("header sanity as nibabel: an invalid sform_code is ignored (qform used); a non-unit quaternion is an error", async () => {
  await using dir = await tempDir();
  const q = affineToQuaternion([[0, 0, 1.5, -30], [-1, 0, 0, 40], [0, 2, 0, -50], [0, 0, 0, 1]]);
  const quatern = [q.b, q.c, q.d, ...q.offset] as [number, number, number, number, number, number];
  const pixdim = [q.qfac, ...q.pixdim, 1, 1, 1, 1];
  const values = ramp(24, (i) => i);
  const write = async (name: string, spec: Partial<CraftSpec>) => {
    const p = join(dir.path, name);
    await Deno.writeFile(p, craftNifti({ datatype: 2, dims: [2, 3, 4], values, qformCode: 1, ...spec }));
    return p;
  };
  const p7 = await write("sform7.nii", { quatern, pixdim, sformCode: 7, srow: OBLIQUE_SROW });
  const v = await readNifti(p7);
  const qform = [[0, 0, 1.5, -30], [-1, 0, 0, 40], [0, 2, 0, -50], [0, 0, 0, 1]];
  assertClose(v.affine.flat(), qform.flat(), 1e-5);
  assertEquals([v.header.sformCode, v.header.qformCode], [0, 1]);
  // Quaternion with b²+c²+d² = 1.53 (> 1): nibabel refuses it; so do we, instead of scaling the voxels.
  const pq = await write("quat.nii", { quatern: [0.8, 0.8, 0.5, 0, 0, 0] });
  const e = await assertRejects(
    () => readNifti(pq),
    /quat\.nii: invalid qform: quaternion .* b²\+c²\+d² = 1\.5300 > 1/,
  );
  assert(e instanceof InputError);
  // The same quaternion is harmless when a valid sform is what counts (nibabel reads it too).
  const ps = await write("quat_sform.nii", { quatern: [0.8, 0.8, 0.5, 0, 0, 0], sformCode: 2, srow: OBLIQUE_SROW });
  assertClose((await readNifti(ps)).affine.slice(0, 3).flat(), OBLIQUE_SROW.flat(), 1e-6);
  if (haveNibabel()) {
    assertClose((await nibabelAffineOrError(p7) as number[][]).flat(), qform.flat(), 1e-5);
    assertEquals(typeof await nibabelAffineOrError(pq), "string", "nibabel refuses the non-unit quaternion");
    assertClose((await nibabelAffineOrError(ps) as number[][]).slice(0, 3).flat(), OBLIQUE_SROW.flat(), 1e-6);
  }
});

Deno.test("a header claiming more voxels than the file holds or memory allows gets a clear message", async () => {
  await using dir = await tempDir();
  // 30000³ int16 (54 TB) claimed by a 1.6 kB file, plain and gzipped (a gzip file of n bytes holds < 1032 n).
  const huge = craftNifti({ datatype: 4, dims: [30000, 30000, 30000], values: ramp(600, (i) => i) });
  const plain = join(dir.path, "huge.nii"), gz = join(dir.path, "huge.nii.gz");
  await Deno.writeFile(plain, huge);
  await Deno.writeFile(gz, await gzipBytes(huge));
  await assertRejects(
    () => readNifti(plain),
    /huge\.nii: truncated data section: the header claims 30000x30000x30000 int16 \(54000000000000 bytes/,
  );
  await assertRejects(
    () => readNifti(gz),
    /huge\.nii\.gz: header claims 49\.1 TiB of image, more than \d+ bytes of gzip data can hold/,
  );
});

Deno.test("gzip bombs: a small header followed by far more data stops at the declared size; the ceiling is checked first", async () => {
  await using dir = await tempDir();
  // 4x4x4 uint8 (64 bytes of image) followed by 32 MiB of zeros in one gzip member.
  const head = craftNifti({ datatype: 2, dims: [4, 4, 4], values: ramp(64, (i) => i) });
  const bomb = new Uint8Array(head.length + 32 * 2 ** 20);
  bomb.set(head);
  const p = join(dir.path, "bomb.nii.gz");
  await Deno.writeFile(p, await gzipBytes(bomb));
  const e = await assertRejects(
    () => readNifti(p),
    /bomb\.nii\.gz: gzip data goes on past the \d+ bytes its header declares/,
  );
  assertEquals((e as InputError).exitCode, 65);
  // A header declaring more than the ceiling is refused before allocating (here: 1 MiB ceiling, 2 MiB image).
  const big = craftNifti({ datatype: 2, dims: [128, 128, 128], values: ramp(64, (i) => i) });
  const full = new Uint8Array(big.length + 128 ** 3 - 64);
  full.set(big);
  const q = join(dir.path, "big.nii.gz");
  await Deno.writeFile(q, await gzipBytes(full));
  await withEnv({ SIAMIZE_MAX_INPUT_BYTES: "1M" }, async () => {
    await assertRejects(
      () => readNifti(q),
      /big\.nii\.gz: header declares 2\.0 MiB of image data; the limit is 1\.0 MiB/,
    );
    const r = join(dir.path, "big.nii");
    await Deno.writeFile(r, full);
    await assertRejects(() => readNifti(r), /big\.nii: header declares 128x128x128 uint8 \(2\.0 MiB\); the limit is/);
  });
  assertEquals((await readNifti(q)).dims, [128, 128, 128], "under the default ceiling it reads");
});
