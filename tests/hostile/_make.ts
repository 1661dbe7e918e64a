/**
 * Makes the hostile-input test set (issue #20) in a folder: decompression
 * bombs (gzip and zlib, one member or many; a zip entry), lying and malformed NIfTI
 * headers, JNIfTI/BJData that nests or counts without bound, special files,
 * cards whose weights escape the cache, bad output placements and a secret
 * given where a label list was expected. Each case says how the CLI is run
 * on it and which file its one-line error must name.
 *
 * Bombs are built from one deflate block of zeros, flushed to a byte
 * boundary and repeated, so an 8 GiB bomb takes milliseconds to make.
 *
 * @module
 */
import { constants, deflateRawSync } from "node:zlib";
import { join } from "../../lib/core/_std.ts";
import { encodeBJData } from "../../lib/io/bjdata.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { craftNifti, writeHead } from "../_fixtures.ts";
import { zipBytes } from "../io/_zip_writer.ts";

/** One hostile case: the CLI arguments (model flags added by the runner) and what its error must name. */
export interface HostileCase {
  /** Short name (also the output folder of the case). */
  name: string;
  /** CLI arguments; `OUT` stands for the case's output folder. */
  args: string[];
  /** The file the one-line error must name (its base name is searched for). */
  names: string;
  /** Exit codes accepted (each within 64, 65, 66, 73). */
  codes: number[];
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /** Text that must not appear in the error (a secret). */
  secret?: string;
  /** Leave out the model flags (BIDS and card cases bring their own). */
  bare?: boolean;
}

const MiB = 2 ** 20;

/** Raw deflate of `data` flushed to a byte boundary without a final block (concatenable). */
function deflateOpen(data: Uint8Array): Uint8Array {
  return new Uint8Array(deflateRawSync(data, { level: 9, finishFlush: constants.Z_SYNC_FLUSH }));
}

/** Raw deflate of `head` followed by `repeats` × 64 MiB of zeros, finished. */
function deflateBomb(head: Uint8Array, repeats: number): Uint8Array {
  const first = deflateOpen(head);
  const zeros = deflateOpen(new Uint8Array(64 * MiB));
  const out = new Uint8Array(first.length + zeros.length * repeats + 2);
  out.set(first);
  for (let k = 0; k < repeats; k++) out.set(zeros, first.length + k * zeros.length);
  out.set([0x03, 0x00], out.length - 2); // a final, empty fixed-Huffman block
  return out;
}

/** gzip member around raw deflate (the CRC is never reached by a reader that stops in time). */
function gzipWrap(raw: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(10 + raw.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  out.set(raw, 10);
  new DataView(out.buffer).setUint32(out.length - 4, size >>> 0, true);
  return out;
}

/** zlib stream around raw deflate (Adler-32 left 0: never reached). */
function zlibWrap(raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + raw.length + 4);
  out.set([0x78, 0x01]);
  out.set(raw, 2);
  return out;
}

function base64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

const enc = (s: string) => new TextEncoder().encode(s);

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([b as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}
const ramp = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) % 100 + 1);
const small = (o: Partial<Parameters<typeof craftNifti>[0]> = {}) =>
  craftNifti({ datatype: 2, dims: [4, 4, 4], values: ramp(64), ...o });
const IDENTITY = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];

/** A JNIfTI document around NIFTIData. */
function jnii(nd: unknown): Uint8Array {
  return enc(JSON.stringify({ NIFTIHeader: { Dim: [4, 4, 4], Affine: IDENTITY }, NIFTIData: nd }));
}

/** Writes every hostile file into `dir`; returns the cases (at least 40 files). */
export async function makeHostileSet(dir: string): Promise<HostileCase[]> {
  const cases: HostileCase[] = [];
  const file = async (name: string, bytes: Uint8Array | string) => {
    const p = join(dir, name);
    await Deno.writeFile(p, typeof bytes === "string" ? enc(bytes) : bytes);
    return p;
  };
  const input = async (name: string, bytes: Uint8Array | string, codes = [65], env?: Record<string, string>) => {
    const p = await file(name, bytes);
    cases.push({ name, args: ["-i", p, "-o", "OUT/labels.nii.gz"], names: name, codes, env });
  };

  // 1. Decompression bombs.
  const head = small();
  await input("bomb_8gib.nii.gz", gzipWrap(deflateBomb(head, 128), 0)); // 8 GiB of zeros after a 64-voxel image
  await input("bomb_one_gib.nii.gz", gzipWrap(deflateBomb(head, 16), 0));
  const honest = craftNifti({ datatype: 16, dims: [1024, 1024, 1024], values: [] }).subarray(0, 352);
  await input("bomb_honest_4gib.nii.gz", gzipWrap(deflateBomb(honest, 64), 0), [65], {
    SIAMIZE_MAX_INPUT_BYTES: "1G",
  });
  const member = gzipWrap(deflateBomb(new Uint8Array(0), 1), 64 * MiB);
  const first = await gzip(head);
  const multi = new Uint8Array(first.length + 32 * member.length); // 2 GiB in 33 members
  multi.set(first);
  for (let k = 0; k < 32; k++) multi.set(member, first.length + k * member.length);
  await input("bomb_members.nii.gz", multi);
  const payload = zlibWrap(deflateBomb(new Uint8Array(0), 128));
  const zdata = { _ArrayType_: "uint8", _ArraySize_: [4, 4, 4], _ArrayZipType_: "zlib" };
  await input("bomb_zlib.jnii", jnii({ ...zdata, _ArrayZipData_: base64(payload) }));
  await input(
    "bomb_zlib.bnii",
    encodeBJData({
      NIFTIHeader: { Dim: [4, 4, 4], Affine: IDENTITY },
      NIFTIData: { ...zdata, _ArrayZipData_: payload },
    }),
  );
  await input(
    "bomb_gzip_payload.jnii",
    jnii({ ...zdata, _ArrayZipType_: "gzip", _ArrayZipData_: base64(gzipWrap(deflateBomb(new Uint8Array(0), 32), 0)) }),
  );
  await input(
    "bomb_no_size.jnii",
    jnii({ _ArrayType_: "uint8", _ArrayZipType_: "zlib", _ArrayZipData_: base64(payload) }),
  );
  await input(
    "declared_8tib.jnii",
    jnii({
      _ArrayType_: "double",
      _ArraySize_: [1024, 1024, 1048576],
      _ArrayZipType_: "zlib",
      _ArrayZipData_: base64(payload),
    }),
  );

  // 2. Headers that lie or are malformed.
  await input("empty.nii", new Uint8Array(0));
  await input("short_header.nii", small().subarray(0, 100));
  const badSize = small();
  new DataView(badSize.buffer).setInt32(0, 999, true);
  await input("bad_sizeof_hdr.nii", badSize);
  await input("negative_dim.nii", small({ dims: [-5, 4, 4] }));
  await input("zero_dim.nii", small({ dims: [0, 4, 4] }));
  await input("dims_30000_cubed.nii", small({ dims: [30000, 30000, 30000] }));
  await input(
    "nifti2_dims_2e12.nii",
    craftNifti({ version: 2, datatype: 2, dims: [2 ** 20, 2 ** 20, 2 ** 20], values: ramp(64) }),
  );
  await input("datatype_9999.nii", small({ datatype: 9999 }));
  await input("datatype_complex.nii", small({ datatype: 32 }));
  await input(
    "vox_offset_1e9.nii",
    small({ voxOffset: 352 }).map((b, i) => (i >= 108 && i < 112 ? [0x28, 0x6b, 0x6e, 0x4e][i - 108] : b)),
  );
  await input("truncated_data.nii", craftNifti({ datatype: 16, dims: [64, 64, 64], values: ramp(10) }));
  await input("nan_qoffset.nii", small({ qformCode: 1, quatern: [0, 0, 0, NaN, 0, 0] }));
  await input("nan_scl_inter.nii", small({ slope: 2, inter: NaN }));
  await input("inf_sform.nii", small({ sformCode: 2, srow: [[Infinity, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] }));
  await input("nonunit_quaternion.nii", small({ qformCode: 1, quatern: [0.9, 0.9, 0.9, 0, 0, 0] }));
  await input("four_d.nii", craftNifti({ datatype: 2, dims: [4, 4, 4, 3], values: ramp(192) }));
  const gz = await gzip(small());
  await input("truncated.nii.gz", gz.subarray(0, gz.length >> 1));
  await input("corrupt.nii.gz", Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, ...ramp(200)]));
  await input("ceiling_1mib.nii", craftNifti({ datatype: 2, dims: [128, 128, 128], values: ramp(128 ** 3) }), [65], {
    SIAMIZE_MAX_INPUT_BYTES: "1M",
  });

  // 3. A tiny header forcing huge work.
  const grid = (mm: number) =>
    craftNifti({ datatype: 2, dims: [40, 40, 40], values: ramp(64000), pixdim: [1, mm, mm, mm, 1, 1, 1, 1] });
  await input("voxels_25mm.nii", grid(25));
  await input("voxels_1e30mm.nii", grid(1e30));

  // 4. JSON / BJData that nests or counts without bound.
  await input("deep_100k.jnii", `{"NIFTIHeader": {}, "NIFTIData": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
  const deepBj = new Uint8Array(200_000);
  deepBj.fill(0x5b, 0, 100_000);
  deepBj.fill(0x5d, 100_000);
  await input("deep_100k.bnii", deepBj);
  await input(
    "count_2e40.bnii",
    Uint8Array.from([0x7b, 0x55, 9, ...enc("NIFTIData"), 0x5b, 0x24, 0x5a, 0x23, 0x4c, 0, 0, 0, 0, 0, 1, 0, 0, 0x7d]),
  );
  await input("not_json.jnii", "{ garbage, not json");
  await input("bad_base64.jnii", jnii({ ...zdata, _ArrayZipData_: "!!!not base64!!!" }));

  // 5. Special files.
  cases.push({
    name: "dev_zero",
    args: ["-i", "/dev/zero", "-o", "OUT/labels.nii.gz"],
    names: "/dev/zero",
    codes: [66],
  });
  const fifo = join(dir, "fifo.nii");
  await new Deno.Command("mkfifo", { args: [fifo] }).output();
  cases.push({ name: "fifo.nii", args: ["-i", fifo, "-o", "OUT/labels.nii.gz"], names: "fifo.nii", codes: [66] });
  await Deno.mkdir(join(dir, "folder.nii"));
  cases.push({
    name: "folder_input",
    args: ["-i", join(dir, "folder.nii"), "-o", "OUT/dir"],
    names: "folder.nii",
    codes: [66],
  });
  cases.push({ name: "list_dev_zero", args: ["-i", "@/dev/zero", "-o", "OUT/dir"], names: "/dev/zero", codes: [66] });
  await Deno.symlink("loop.nii", join(dir, "loop.nii"));
  cases.push({
    name: "loop.nii",
    args: ["-i", join(dir, "loop.nii"), "-o", "OUT/labels.nii.gz"],
    names: "loop.nii",
    codes: [66],
  });

  // 6. Cards whose weights escape the cache (refused before the cache or network).
  const good = join(dir, "t1.nii");
  await writeHead(good);
  const card = async (name: string, files: unknown[], url: string) => {
    const p = await file(
      name,
      JSON.stringify({ ...structuredClone(SIAM_V03), weights: { files, urls: { default: url } } }),
    );
    cases.push({
      name,
      args: ["--card", p, "-M", "0", "-i", good, "-o", "OUT/labels.nii.gz"],
      names: name,
      codes: [64],
      bare: true,
    });
  };
  await card("card_dotdot.json", ["../x/evil.onnx"], "https://example.org/w/");
  await card("card_slash.json", ["sub/evil.onnx"], "https://example.org/w/");
  await card("card_file_url.json", ["fold_0.onnx"], "file:///etc/");
  await card("card_http.json", ["fold_0.onnx"], "http://example.org/w/");
  const deepCard = await file("card_deep.json", `{"a": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`);
  cases.push({
    name: "card_deep.json",
    args: ["--card", deepCard, "-i", good, "-o", "OUT/l.nii.gz"],
    names: "card_deep.json",
    codes: [65],
    bare: true,
  });

  // 7. Outputs that would be lost or half written.
  const badJson = await file("table_bad.json", "{ not json");
  cases.push({
    name: "table_bad.json",
    args: ["-i", good, "-o", "OUT/l.nii.gz", "--vol", badJson],
    names: "table_bad.json",
    codes: [65],
  });
  const otherCsv = await file("table_other.csv", "subject,volume\ns1,3\n");
  cases.push({
    name: "table_other.csv",
    args: ["-i", good, "-o", "OUT/l.nii.gz", "--vol", otherCsv],
    names: "table_other.csv",
    codes: [65],
  });
  await Deno.mkdir(join(dir, "taken.nii.gz"));
  cases.push({
    name: "overwrite_folder",
    args: ["-i", good, "-o", join(dir, "taken.nii.gz"), "--overwrite"],
    names: "taken.nii.gz",
    codes: [73],
  });
  const batch = join(dir, "batch");
  await Deno.mkdir(batch);
  await writeHead(join(batch, "a.nii"));
  await Deno.copyFile(join(batch, "a.nii"), join(batch, "a.nii.gz"));
  cases.push({ name: "batch_collision", args: ["-i", batch, "-o", "OUT"], names: "a.nii", codes: [65] });
  const plainFile = await file("plain.txt", "x");
  cases.push({
    name: "output_under_file",
    args: ["-i", good, "-o", join(plainFile, "l.nii.gz")],
    names: "plain.txt",
    codes: [73],
  });

  // 8. DICOM archives: an entry that inflates far past its declared size, sizes that sum past the ceiling, a cut archive.
  const dicm = new Uint8Array(200);
  dicm.set(enc("DICM"), 128);
  await input(
    "bomb_8gib.zip",
    await zipBytes([{ name: "a.dcm", data: dicm, declaredSize: 1000, rawDeflate: deflateBomb(dicm, 128) }]),
  );
  const huge = { data: dicm, declaredSize: 0xfffffffe };
  await input("declares_12gib.zip", await zipBytes([1, 2, 3].map((k) => ({ name: `${k}.dcm`, ...huge }))));
  const whole = await zipBytes([{ name: "a.dcm", data: dicm }, { name: "b.dcm", data: dicm }]);
  await input("cut.zip", whole.subarray(0, whole.length - 30));

  // 9. A secret where a label list was expected.
  const secret = "ghp_" + "Zq7Xw2Lk9Pm4".repeat(3);
  const token = await file("token.txt", `${secret}\n`);
  cases.push({
    name: "token.txt",
    args: ["bids", join(dir, "no_dataset"), "OUT", "participant", "--participant-label", token],
    names: "token.txt",
    codes: [64],
    secret,
    bare: true,
  });
  return cases;
}
