import { join } from "../../lib/core/_std.ts";
import { SiamizeError } from "../../lib/core/errors.ts";
import { checkPatch } from "../../lib/cards/rules.ts";
import { SIAM_V03 } from "../../lib/cards/shipped.ts";
import { autoOrder, CUDA_INSTALL_COMMAND, ortBackend, providerObstacle, threadOptions } from "../../lib/engine/ort.ts";
import { webgpuAdapter } from "../../lib/engine/gpu_adapter.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir, writeHead } from "../_fixtures.ts";
import { taskCommand } from "../_tasks.ts";
import { tinyModel } from "../_models.ts";

const ANALYTIC = join(GOLDEN, "analytic.onnx");

Deno.test("input/output names and class count come from the model", async () => {
  const s = await ortBackend.create({ model: ANALYTIC, label: "analytic" }, { compute: "cpu", threads: 1 });
  try {
    assertEquals([s.inputName, s.outputName, s.classes, s.provider], ["x", "logits", 18, "cpu"]);
    const out = await s.run(new Float32Array(8 * 8 * 16).fill(1), [8, 8, 16]);
    assertEquals(out.length, 18 * 8 * 8 * 16);
  } finally {
    await s.release();
  }
});

Deno.test("sessions run on the requested threads, one inter-op thread, and ORT's threads stop spinning when a run returns", () => {
  const o = threadOptions(3);
  assertEquals([o.intraOpNumThreads, o.interOpNumThreads, o.executionMode], [3, 1, "sequential"]);
  assertEquals(o.extra, { session: { force_spinning_stop: "1" } });
  assert(threadOptions().intraOpNumThreads! >= 1);
});

Deno.test("auto falls back to CPU with one line naming what was missing", async () => {
  const lines: string[] = [];
  const s = await ortBackend.create({ model: ANALYTIC, label: "analytic" }, {
    compute: "auto",
    log: (l) => lines.push(l),
  });
  await s.release();
  const obstacles = autoOrder().map((p) => providerObstacle(p));
  if (s.provider === "cpu") {
    assertEquals(lines.length, 1);
    assert(lines[0].startsWith("using CPU ("), lines[0]);
    for (const [k, p] of autoOrder().entries()) {
      if (obstacles[k]) assert(lines[0].includes(`${p}: ${obstacles[k]}`), lines[0]);
    }
  } else {
    assert(autoOrder().includes(s.provider as never));
  }
});

Deno.test("auto's fallback goes to detail (-v) when no GPU is installed or the only one is software, to log when a hardware GPU failed", async () => {
  const log: string[] = [], detail: string[] = [];
  const s = await ortBackend.create({ model: ANALYTIC, label: "analytic" }, {
    compute: "auto",
    log: (l) => log.push(l),
    detail: (l) => detail.push(l),
  });
  await s.release();
  if (s.provider !== "cpu") return; // this machine has a usable GPU provider
  const all = [...log, ...detail];
  assertEquals(all.length, 1, all.join("\n"));
  const adapter = await webgpuAdapter();
  const nothingHardware = autoOrder().every((p) => providerObstacle(p) || (p === "webgpu" && adapter?.software));
  if (nothingHardware) {
    // Nothing installed, or WebGPU on Mesa's lavapipe / SwiftShader only: the fallback is a detail.
    assertEquals(log, [], "no hardware GPU: the fallback is said only with -v");
  } else {
    // A hardware GPU provider started and was not used: said without -v.
    assertEquals(detail, [], log.join("\n"));
  }
});

Deno.test("an explicit provider that cannot start is an error", async () => {
  for (const p of ["cuda", "tensorrt", "coreml", "webgpu"] as const) {
    const obstacle = providerObstacle(p);
    if (!obstacle) continue; // this machine has it
    const e = await assertRejects(
      () => ortBackend.create({ model: ANALYTIC, label: "analytic" }, { compute: p }),
      new RegExp(`^-c ${p}: cannot start: `),
    );
    assert(e instanceof SiamizeError);
    // A missing CUDA/TensorRT library: the error names the command that installs it.
    if (obstacle.endsWith("is not installed")) assert(e.message.includes(CUDA_INSTALL_COMMAND), e.message);
  }
});

Deno.test("the provider's variant of the model is the one loaded", async () => {
  const asked: string[] = [];
  const tiny = await Deno.readFile(await tinyModel(true));
  const s = await ortBackend.create({
    model: new Uint8Array([1, 2, 3]), // would not load
    label: "tiny",
    forProvider: (p) => {
      asked.push(p);
      return tiny;
    },
  }, { compute: "cpu" });
  await s.release();
  assertEquals(asked, ["cpu"]);
});

Deno.test("a file that is not ONNX is a one-line error naming it", async () => {
  await using dir = await tempDir();
  const p = join(dir.path, "junk.onnx");
  await Deno.writeFile(p, new TextEncoder().encode("<html>502 Bad Gateway</html>"));
  await assertRejects(
    () => ortBackend.create({ model: p, label: p }, { compute: "cpu" }),
    /junk\.onnx: cannot load model/,
  );
});

Deno.test("patch sizes the card cannot take name the nearest valid ones", () => {
  assertEquals(checkPatch(SIAM_V03, [256, 256, 192]), undefined);
  assertEquals(checkPatch(SIAM_V03, [192, 192, 128]), undefined);
  assertEquals(
    checkPatch(SIAM_V03, [250, 256, 200]),
    "patch 250x256x200 is not valid for SIAM 0.3: Z must be a multiple of 64, X must be a multiple of 32; nearest valid: 256x256x192",
  );
});

Deno.test("automatic patch from available memory: default, low-memory, smaller", async () => {
  const { choosePatch, estimatePeakBytes } = await import("../../lib/cards/rules.ts");
  const GiB = 2 ** 30;
  assertEquals(choosePatch(SIAM_V03, 24 * GiB), { patch: [256, 256, 192], reduced: false });
  assertEquals(choosePatch(SIAM_V03, 8 * GiB), { patch: [192, 192, 128], reduced: true });
  const small = choosePatch(SIAM_V03, 3 * GiB);
  assert(small.reduced && estimatePeakBytes(SIAM_V03, small.patch)! <= 3 * GiB * 0.9, JSON.stringify(small));
  assertEquals(checkPatch(SIAM_V03, small.patch), undefined);
  assert(
    estimatePeakBytes(SIAM_V03, [256, 256, 192])! > 10 * GiB && estimatePeakBytes(SIAM_V03, [128, 128, 128])! < 4 * GiB,
  );
  // A card without a memory model keeps its patch.
  const { shippedCard } = await import("../../lib/cards/shipped.ts");
  const ct = shippedCard("monai-wholebody-ct")!;
  assertEquals(estimatePeakBytes(ct, ct.patch), undefined);
  assertEquals(choosePatch(ct, 1 * GiB), { patch: ct.patch, reduced: false });
});

Deno.test("ONNX Runtime leaves no mat-debug-<pid>.log or .ses file in the temp folder (telemetry off, scoped task)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "siamize-ort-tmp-" });
  try {
    const out = join(tmp, "out");
    await Deno.mkdir(out);
    const input = join(out, "t1.nii");
    await writeHead(input);
    const card = join(ROOT, "models", "testing", "analytic.json");
    const args = ["-i", input, "-o", join(out, "l.nii.gz"), "-M", join(GOLDEN, "analytic.onnx"), "--card", card, "-q"];
    const r = await taskCommand("siamize", args, { env: { TMPDIR: tmp } }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    const litter = [...Deno.readDirSync(tmp)].map((e) => e.name).filter((n) => n !== "out");
    assertEquals(litter, [], "nothing but our output folder in TMPDIR");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
