/**
 * WebGPU end to end (on a real GPU or Mesa's lavapipe software Vulkan, which
 * CI installs): the stand-in network and a tiny SIAM-shaped network with 3-D
 * ConvTranspose, fp32 and fp16, segmented with `-c webgpu` and compared with
 * `-c cpu`. Skipped, saying why, where no WebGPU adapter exists.
 *
 * @module
 */
import { join } from "../../lib/core/_std.ts";
import { main } from "../../cli.ts";
import { describeAdapter, webgpuAdapter } from "../../lib/engine/gpu_adapter.ts";
import { type ModelCard } from "../../lib/cards/card.ts";
import { loadCard } from "../../lib/cards/parse.ts";
import { ortBackend } from "../../lib/engine/ort.ts";
import { segment, type SegmentOptions } from "../../lib/run/segment.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { GOLDEN, ROOT, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";

const PHANTOM = join(GOLDEN, "phantom.nii.gz");
const ANALYTIC = join(GOLDEN, "analytic.onnx");

/** Why WebGPU cannot run here (Deno's adapter and ONNX Runtime's must both exist), or undefined. */
async function unavailable(): Promise<string | undefined> {
  if (!await webgpuAdapter()) return "navigator.gpu gives no adapter";
  try {
    const s = await ortBackend.create({ model: ANALYTIC, label: "analytic" }, { compute: "webgpu", warmup: [8, 8, 8] });
    await s.release();
    return undefined;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}
const adapter = await webgpuAdapter();
// Lavapipe shares the CPU with ONNX Runtime: keep its threads few.
if (adapter?.software && !Deno.env.get("LP_NUM_THREADS")) Deno.env.set("LP_NUM_THREADS", "2");
const why = await unavailable();
/** CI (`.ci/run`) installs lavapipe and sets this: there the tests must run, not skip. */
const required = Deno.env.get("SIAMIZE_REQUIRE_WEBGPU") === "1";
const ignore = why !== undefined && !required;
function needAdapter(): void {
  if (why) throw new Error(`SIAMIZE_REQUIRE_WEBGPU=1 but WebGPU cannot run: ${why}`);
}
if (ignore) {
  console.warn(
    `webgpu_test: skipped: ${why} (on Debian bookworm: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1)`,
  );
}

const CARD = join(ROOT, "models", "testing", "analytic.json");
const analyticCard = await loadCard(CARD);
/** The tiny U-Net needs patches divisible by 4. */
const tinyCard: ModelCard = { ...analyticCard, patchMultiple: [4, 4, 4] };

async function compare(model: string, card: ModelCard, minAgree: number, maxTpmDiff: number) {
  // 3 mm working spacing: a handful of 32^3 tiles, on the 80x60x90 input grid.
  const opts: SegmentOptions = { models: model, card, patch: [32, 32, 32], spacing: 3, tpm: true };
  const logs: string[] = [];
  const gpu = await segment(PHANTOM, { ...opts, compute: "webgpu", log: (l) => logs.push(l) });
  const cpu = await segment(PHANTOM, { ...opts, compute: "cpu" });
  assertEquals(gpu.provider, "webgpu");
  assert(gpu.adapter && gpu.adapter.length > 0, "the adapter is named");
  assertEquals(cpu.provider, "cpu");
  assertEquals(gpu.labels.dims, cpu.labels.dims);
  let agree = 0;
  const n = cpu.labels.data.length;
  for (let i = 0; i < n; i++) if (gpu.labels.data[i] === cpu.labels.data[i]) agree++;
  assert(agree / n >= minAgree, `${model}: labels agree on ${(100 * agree / n).toFixed(3)}% of voxels`);
  assert(new Set(cpu.labels.data).size >= 3, "not a degenerate segmentation");
  const a = gpu.probabilities!.data as Float32Array, b = cpu.probabilities!.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert(worst <= maxTpmDiff, `${model}: TPMs differ by up to ${worst}`);
  return { logs, agree: agree / n, worst };
}

Deno.test({
  name: "webgpu: the analytic stand-in and the tiny SIAM-shaped U-Net (fp32, fp16) agree with the CPU provider",
  ignore,
  async fn() {
    needAdapter();
    await compare(ANALYTIC, analyticCard, 0.999, 1e-4);
    const fp32 = await compare(await tinyModel(false, 11), tinyCard, 0.999, 1e-4);
    assert(fp32.logs.some((l) => l.includes("convtranspose3d->conv+d2s: 2 rewritten")), fp32.logs.join("\n"));
    const fp16 = await compare(await tinyModel(true, 11), tinyCard, 0.99, 2e-2);
    // fp16 stays fp16 on the GPU: no fp16->fp32 rewrite there.
    assert(!fp16.logs.some((l) => l.includes("fp16->fp32")), fp16.logs.join("\n"));
  },
});

Deno.test({
  name:
    "webgpu: the CLI's -c webgpu names the adapter in --report and -v checks placement; auto skips a software adapter",
  ignore,
  async fn() {
    needAdapter();
    await using dir = await tempDir();
    const out: string[] = [], err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), isTty: false };
    const model = await tinyModel(false, 11);
    const args = ["-M", model, "--card", CARD, "-P", "32x32x32", "--spacing", "3", "-i", PHANTOM];
    const report = join(dir.path, "r.json");
    const rc = await main([...args, "-o", join(dir.path, "g.nii.gz"), "-c", "webgpu", "-v", "--report", report], io);
    assertEquals(rc, 0, err.join("\n"));
    const rep = JSON.parse(await Deno.readTextFile(report));
    assertEquals(rep.provider, "webgpu");
    assertEquals(rep.adapter, describeAdapter(adapter!));
    const lines = [...out, ...err].join("\n");
    assert(/placement: all \d+ compute nodes on webgpu/.test(lines), lines);
    if (!adapter!.software) return;
    // auto passes over a software adapter: quietly, and with -v in one line naming it.
    out.length = err.length = 0;
    const report2 = join(dir.path, "r2.json");
    const rc2 = await main([...args, "-o", join(dir.path, "a.nii.gz"), "-c", "auto", "--report", report2], io);
    assertEquals(rc2, 0, err.join("\n"));
    assertEquals(JSON.parse(await Deno.readTextFile(report2)).provider, "cpu");
    assertEquals([...out, ...err].filter((l) => l.includes("software")), [], [...out, ...err].join("\n"));
    out.length = err.length = 0;
    const rc3 = await main([...args, "-o", join(dir.path, "v.nii.gz"), "-c", "auto", "-v"], io);
    assertEquals(rc3, 0, err.join("\n"));
    const why = [...out, ...err].filter((l) => l.includes("software"));
    assertEquals(why.length, 1, [...out, ...err].join("\n"));
    assert(why[0].includes("using CPU") && why[0].includes(adapter!.description), why[0]);
  },
});

Deno.test({
  name: "webgpu: a run-time op failure surfaces at load (the warm-up run), not mid-run",
  ignore,
  async fn() {
    needAdapter();
    // The tiny U-Net without the ConvTranspose rewrite: ORT accepts the session, then fails to run it.
    const bytes = await Deno.readFile(await tinyModel(false, 11));
    await assertRejects(
      () => ortBackend.create({ model: bytes, label: "tiny" }, { compute: "webgpu", warmup: [16, 16, 16] }),
      /^-c webgpu: cannot start: .*ConvTranspose/,
    );
  },
});

Deno.test({
  name: "webgpu: auto falls back to the CPU, with one line, when the GPU fails the warm-up run",
  ignore,
  async fn() {
    needAdapter();
    const bytes = await Deno.readFile(await tinyModel(false, 11));
    const lines: string[] = [];
    // The model as it is on every provider: ConvTranspose 3-D then fails on WebGPU at run time.
    const s = await ortBackend.create({ model: bytes, label: "tiny", forProvider: () => bytes }, {
      compute: "auto",
      warmup: [16, 16, 16],
      allowSoftwareAdapter: true,
      log: (l) => lines.push(l),
    });
    try {
      assertEquals(s.provider, "cpu");
      assertEquals(lines.length, 1, lines.join("\n"));
      assert(/^using CPU \(.*webgpu: .*Only Conv2d or Conv1d/.test(lines[0]), lines[0]);
      assertEquals((await s.run(new Float32Array(16 ** 3), [16, 16, 16])).length, 18 * 16 ** 3);
    } finally {
      await s.release();
    }
  },
});
