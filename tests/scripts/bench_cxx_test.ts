import { join } from "../../lib/core/_std.ts";
import { readNifti } from "../../lib/io/nifti.ts";
import { benchCxx, centredBox, parseTimeLine } from "../../scripts/bench/bench_cxx.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { tempDir, writeHead } from "../_fixtures.ts";

Deno.test("cxx case: the centred crop box and GNU time's line", () => {
  assertEquals(centredBox([181, 217, 181], [144, 192, 192]), [[18, 144], [12, 192], [0, 181]]);
  assertEquals(parseTimeLine("model loaded\n95.31 8388608\n"), { wall: 95.31, peakRssBytes: 8 * 2 ** 30 });
  assertThrows(() => parseTimeLine("time: cannot run siamize: No such file or directory"), /cannot read/);
});

Deno.test({
  name: "cxx case: alternating pairs against a stand-in C++ tool on the cropped input, its RSS from GNU time",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using dir = await tempDir();
    const scan = join(dir.path, "head.nii.gz");
    await writeHead(scan); // 36x40x32 voxels of 1 mm: the crop keeps it whole
    // The stand-in writes the -o file and records its arguments, as the real tool's flags are passed.
    const cxx = join(dir.path, "run");
    const log = join(dir.path, "args.txt");
    await Deno.writeTextFile(
      cxx,
      `#!/bin/sh\necho "$@" >> ${log}\nhead -c 50000000 /dev/zero | tail -c 1 >/dev/null\n`,
    );
    await Deno.chmod(cxx, 0o755);
    const seen: string[] = [];
    const lines = await benchCxx({
      input: scan,
      runs: 2,
      threads: 2,
      model: "model.onnx",
      cache: dir.path,
      cxx,
      runCli: (input, model, extra) => {
        seen.push(`${input} ${model} ${extra.join(" ")}`);
        return Promise.resolve({ wall: 3, report: { tiles: 1, peakRssBytes: 2 ** 30 } as never });
      },
    });
    const cropped = join(dir.path, "cxx_head.nii.gz");
    assertEquals((await readNifti(cropped)).dims.slice(0, 3), [36, 40, 32]);
    assertEquals(seen, [`${cropped} model.onnx -t 2`, `${cropped} model.onnx -t 2`]);
    const args = (await Deno.readTextFile(log)).trim().split("\n");
    assertEquals(args.length, 2);
    assert(args[0].startsWith(`-i ${cropped} -o `) && args[0].endsWith(" -M model.onnx -c cpu -t 2"), args[0]);
    assertEquals(lines[3].split("|")[1].trim(), "siamize (Deno)");
    assert(lines[3].includes("| 3.0, 3.0 | 3.0 | 1.00 |"), lines[3]);
    assert(/^\| siamize \(C\+\+\) \| \d+\.\d+, \d+\.\d+ \| /.test(lines[4]), lines[4]);
    assert(lines[5].startsWith("ratio ours / C++ per pair: "), lines[5]);
    // Our run must be one tile, or the pair compares different work; and the C++ tool must be there.
    const once = { input: scan, runs: 1, threads: 1, model: "m.onnx", cache: dir.path };
    const fourTiles = () => Promise.resolve({ wall: 1, report: { tiles: 4 } as never });
    await assertRejects(() => benchCxx({ ...once, cxx, runCli: fourTiles }), /took 4 tiles, not 1/);
    await assertRejects(
      () => benchCxx({ ...once, cxx: join(dir.path, "none"), runCli: fourTiles }),
      /no C\+\+ siamize at/,
    );
  },
});
