import { parseCli, parsePatch } from "../lib/args.ts";
import { UsageError } from "../lib/errors.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

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
    [[...base, "-t", "0"], /-t needs a positive integer/],
    [[...base, "-G", "-1"], /option -G is followed by a value starting with "-"; write it as --gpu=VALUE/],
    [[...base, "--gpu=-1"], /-G needs a non-negative integer, got "-1"/],
    [[...base, "--spacing=-2"], /-u needs a positive number/],
    [[...base, "-c", "tpu"], /-c must be one of auto\|cpu\|cuda\|tensorrt\|coreml\|webgpu/],
    [[...base, "-C", "7"], /-C must be 18 or spm/],
    [[...base, "-F", "mgz"], /-F must be one of nii\|jnii\|bnii/],
    [[...base, "-P", "128x128"], /-P needs three positive integers ZxYxX/],
    [[...base, "extra"], /unexpected argument "extra"/],
    [["-o", "x.nii"], /missing -i INPUT/],
    [["-i", "x.nii"], /missing -o OUTPUT/],
    [[...base, "-v", "-q"], /-v and -q cannot be combined/],
  ];
  for (const [argv, re] of cases) {
    const e = assertThrows(() => parseCli(argv), re, argv.join(" "));
    assert(e instanceof UsageError && e.exitCode === 64, argv.join(" "));
    assert(!e.message.includes("\n"));
  }
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
