import { parseCli } from "../../lib/cli/args.ts";
import { parsePatch } from "../../lib/core/types.ts";
import { UsageError } from "../../lib/core/errors.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";

const base = ["-i", "in.nii.gz", "-o", "out.nii.gz"];

Deno.test("siamize flags parse into typed options", () => {
  const o = parseCli([
    ...base,
    "-M",
    "0,1",
    "-M",
    "x.onnx",
    "-c",
    "CPU",
    "-G",
    "1",
    "-t",
    "4",
    "-P",
    "128x128x96",
    "-u",
    "1.0",
    "-C",
    "spm",
    "--tpm",
    "--tpm-t",
    "2.5",
    "--upsample",
    "-F",
    "jnii",
    "--shuffle",
    "--lowmem",
    "--no-arena",
    "-v",
  ]);
  assertEquals(o.models, ["0", "1", "x.onnx"]);
  assertEquals(o.compute, "cpu");
  assertEquals([o.gpu, o.threads, o.spacing, o.tpmT], [1, 4, 1, 2.5]);
  assertEquals(o.patch, [128, 128, 96]);
  assertEquals([o.classes, o.format], ["spm", "jnii"]);
  assert(o.tpm && o.upsample && o.shuffle && o.lowmem && o.noArena && o.verbose && !o.quiet);
});

Deno.test("defaults", () => {
  const o = parseCli(base);
  assertEquals(o.models, ["0"]);
  assertEquals([o.compute, o.gpu, o.classes, o.tpm, o.tpmT], ["auto", 0, "18", false, 1]);
  assertEquals([o.threads, o.patch, o.spacing, o.format], [undefined, undefined, undefined, undefined]);
});

Deno.test("--tpm takes an optional 0/1", () => {
  assertEquals(parseCli([...base, "--tpm", "0"]).tpm, false);
  assertEquals(parseCli([...base, "--tpm", "1"]).tpm, true);
  assertEquals(parseCli([...base, "--tpm", "-v"]).tpm, true);
  assertEquals(parseCli([...base, "--tpm=1"]).tpm, true);
  assertThrows(() => parseCli([...base, "--tpm=2"]), /--tpm takes 0 or 1/);
});

Deno.test("usage errors are one line, exit 64, and suggest --help", () => {
  const cases: [string[], RegExp][] = [
    [[...base, "--bogus"], /^unknown option --bogus \(see --help\)$/],
    [[...base, "-Z"], /^unknown option -Z/],
    [["-i"], /^option -i\/--input needs a value/],
    [[...base, "-t"], /needs a value/],
    [[...base, "-t", "zero"], /-t needs a positive integer, got "zero"/],
    [[...base, "-G", "-1"], /option -G is followed by a value starting with "-"; write it as --gpu=VALUE/],
    [[...base, "--gpu=-1"], /-G needs a non-negative integer, got "-1"/],
    [[...base, "--spacing=-2"], /-u needs a positive number/],
    [[...base, "-c", "tpu"], /-c must be one of auto\|cpu\|cuda\|tensorrt\|coreml\|webgpu/],
    [[...base, "-C", "7"], /-C 7: a model with 7 classes needs a model card \(--card\)/],
    [[...base, "-C", "abc"], /-C must be 18 or spm/],
    [[...base, "--tpm", "--tpm-out", "p.nii.gz"], /--tpm puts the probability map at -o/],
    [[...base, "--shuffle", "--no-shuffle"], /cannot be combined/],
    [[...base, "-M", "3:1"], /-M 3:1: empty fold range/],
    [[...base, "--cudnn-max-workspace", "2"], /--cudnn-max-workspace: invalid value "2"/],
    [[...base, "--arena-extend", "half"], /--arena-extend: invalid value "half"/],
    [[...base, "--gpu-mem-limit", "6T"], /--gpu-mem-limit: invalid value "6T"/],
    [[...base, "-F", "mgz"], /-F must be one of nii\|jnii\|bnii/],
    [[...base, "-P", "128x128"], /-P needs three positive integers ZxYxX/],
    [[...base, "extra"], /unexpected argument "extra"/],
    [["-o", "x.nii"], /missing -i INPUT/],
    [["-i", "x.nii"], /missing -o OUTPUT/],
    [[...base, "-v", "-q"], /-v and -q cannot be combined/],
    [[...base, "--step", "0"], /--step needs a positive number, got "0"/],
    [[...base, "--step", "half"], /--step needs a positive number/],
    [[...base, "--keep-sessions", "--release-sessions"], /--keep-sessions and --release-sessions cannot be combined/],
  ];
  for (const [argv, re] of cases) {
    const e = assertThrows(() => parseCli(argv), re, argv.join(" "));
    assert(e instanceof UsageError && e.exitCode === 64, argv.join(" "));
    assert(!e.message.includes("\n"));
  }
});

Deno.test("--step, --tta and the session flags", () => {
  const d = parseCli(base);
  assertEquals([d.step, d.tta, d.keepSessions], [undefined, false, undefined]);
  const o = parseCli([...base, "--step", "0.25", "--tta", "--keep-sessions"]);
  assertEquals([o.step, o.tta, o.keepSessions], [0.25, true, true]);
  assertEquals(parseCli([...base, "--release-sessions"]).keepSessions, false);
});

Deno.test("--help and --version need no input", () => {
  assert(parseCli(["--help"]).help);
  assert(parseCli(["-V"]).version);
});

Deno.test("patch strings", () => {
  assertEquals(parsePatch("256x256x192"), [256, 256, 192]);
  assertEquals(parsePatch("64,64,32"), [64, 64, 32]);
  assertThrows(() => parsePatch("64x0x32"), /three positive integers/);
});

Deno.test("the C++ siamize's spellings and defaults: --models, --thread, -t 0, -c trt, -M 0:4, --tpm true/false, --no-shuffle, -C 18, tuning flags", () => {
  const o = parseCli([...base, "--models", "0:2,4", "--thread", "3", "-c", "trt", "-C", "18"]);
  assertEquals([o.models, o.threads, o.compute, o.classes], [["0", "1", "2", "4"], 3, "tensorrt", "18"]);
  assertEquals(parseCli([...base, "-t", "0"]).threads, undefined); // 0 = automatic, as in the C++ tool
  assertEquals(parseCli([...base, "--tpm", "true"]).tpm, true);
  assertEquals(parseCli([...base, "--tpm", "false"]).tpm, false);
  // JNIfTI probability maps are byte-shuffled unless --no-shuffle (the C++ default); --shuffle still parses.
  assertEquals([parseCli(base).shuffle, parseCli([...base, "--shuffle"]).shuffle], [true, true]);
  assertEquals(parseCli([...base, "--no-shuffle"]).shuffle, false);
  // Labels at -o plus the map elsewhere.
  const t = parseCli([...base, "--tpm-out", "p.nii.gz"]);
  assertEquals([t.tpm, t.tpmOut], [false, "p.nii.gz"]);
  // CUDA tuning flags are accepted (onnxruntime-node has no such options).
  parseCli([
    ...base,
    "--trt-cache-dir",
    "/tmp/trt",
    "--cudnn-max-workspace",
    "0",
    "--arena-extend",
    "same",
    "--cudnn-algo",
    "heuristic",
    "--gpu-mem-limit",
    "6G",
  ]);
});
