import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import { join } from "../../lib/core/_std.ts";
import { ROOT, runCli, tempDir } from "../_fixtures.ts";
import { SiamizeError } from "../../lib/core/errors.ts";
import { weightsUrl } from "../../lib/cards/weights.ts";
import { channelNormalization, inferenceOf, validateCard } from "../../lib/cards/parse.ts";
import { spacingOf } from "../../lib/cards/rules.ts";
import { resolveCard, SHIPPED_CARDS, shippedCard, SIAM_V03 } from "../../lib/cards/shipped.ts";
import { cardsTable } from "../../lib/cli/cards.ts";

const ct = () => JSON.parse(Deno.readTextFileSync(join(ROOT, "models", "monai-wholebody-ct.json")));

Deno.test("cards: the shipped cards validate; SIAM's stages are nnU-Net's", () => {
  assertEquals([...SHIPPED_CARDS], ["siam-v0.3", "monai-wholebody-ct", "hnoseg-xs-brats"]);
  assertEquals(SIAM_V03.preprocessing, { orientation: "RAS", crop: "nonzero", normalize: "before-resampling" });
  assertEquals([SIAM_V03.resampling.method, SIAM_V03.resampling.back], ["nnunet", "logits"]);
  assertEquals(Object.keys(SIAM_V03.merges ?? {}), ["spm"]);
  const m = shippedCard("monai-wholebody-ct")!;
  assertEquals([m.resampling.method, m.resampling.back], ["monai", "labels"]);
  assertEquals(m.classes.length, 105);
  assertEquals(m.classes[5].abbreviation, "liver");
  assertEquals(channelNormalization(m, 0).map((s) => s.type), ["zscore-nonzero", "rescale"]);
  const inf = inferenceOf(m);
  assert(inf.mode === "sliding-window" && inf.starts === "monai" && inf.padding === "replicate");
  const h = shippedCard("hnoseg-xs-brats")!;
  assertEquals(h.input.names, ["t1c", "t1n", "t2f", "t2w"]);
  assertEquals(h.classes.map((c) => c.abbreviation), ["BG", "NCR", "ED", "ET"]);
  assertEquals(h.regions!.map((r) => [r.abbreviation, r.labels]), [["WT", [1, 2, 3]], ["TC", [1, 3]], ["ET", [3]]]);
  assertEquals(inferenceOf(h).mode, "whole");
  // SIAM's derived inference is nnU-Net's sliding window.
  const s = inferenceOf(SIAM_V03);
  assert(s.mode === "sliding-window" && s.starts === "nnunet" && s.step === 0.5 && s.padding === "constant");
});

Deno.test("cards: parsing is pure, reads the legacy flat fields once, and keeps a step as given", () => {
  const legacy = {
    ...structuredClone(SIAM_V03),
    inference: undefined,
    merges: undefined,
    tileStep: 0.3,
    blending: { type: "gaussian", sigmaScale: 0.125, valueScale: 10 },
    spm: structuredClone(SIAM_V03.merges!.spm),
  };
  const before = JSON.stringify(legacy);
  const c = validateCard(legacy, "legacy.json");
  assertEquals(JSON.stringify(legacy), before, "the input card is unchanged");
  const inf = c.inference!;
  assert(inf.mode === "sliding-window" && inf.starts === "nnunet");
  assertEquals(inf.step, 0.3); // not 1 - (1 - 0.3) = 0.30000000000000004
  assertEquals(c.tileStep, undefined);
  assertEquals(c.blending, undefined);
  assertEquals(c.spm, undefined);
  assertEquals(c.merges!.spm.classes.length, 6);
  // Parsing a parsed card gives an equal card.
  assertEquals(validateCard(c, "again"), c);
  // An explicit step wins over the overlap; a card with only an overlap gets 1 - overlap once.
  const o = ct();
  o.inference.starts = "nnunet";
  o.inference.overlap = 0.7;
  assertEquals((validateCard(o, "o").inference as { step: number }).step, 1 - 0.7);
  o.inference.step = 0.3;
  assertEquals((validateCard(o, "o").inference as { step: number }).step, 0.3);
  const bad = { ...structuredClone(SIAM_V03), merges: { spm: { ...SIAM_V03.merges!.spm, map: [0, 1] } } };
  assertThrows(() => validateCard(bad, "m.json"), /merges\.spm needs classes and a map of 18/);
});

Deno.test("cards: validation errors name the field", () => {
  // deno-lint-ignore no-explicit-any
  const cases: [(c: Record<string, any>) => void, RegExp][] = [
    [(c) => c.input.normalization[0][1].type = "minmax", /input\.normalization\[0\]\[1\]\.type "minmax"/],
    [(c) => c.input.normalization[0][1].range = [1, -1], /input\.normalization\[0\]\[1\]\.range/],
    [(c) => c.input.channels = 0, /input\.channels/],
    [(c) => c.input.names = ["a", "b"], /input\.names/],
    [(c) => c.input.layout = "yxz", /input\.layout/],
    [(c) => c.inference.padding = "reflect", /inference\.padding/],
    [(c) => c.inference.starts = "even", /inference\.starts/],
    [(c) => c.inference.overlap = 1, /inference\.overlap/],
    [(c) => c.inference.blending.sigmaScale = 0, /inference\.blending\.sigmaScale/],
    [(c) => c.resampling.method = "sinc", /resampling\.method/],
    [(c) => c.resampling.back = "probabilities", /resampling\.back/],
    [(c) => c.preprocessing.crop = "head", /preprocessing\.crop/],
    [(c) => c.spacings.lowres = [3, 3], /spacings\.lowres/],
    [(c) => c.output.activation = "sigmoid", /output\.activation/],
    [(c) => c.classes[7].index = 8, /classes\[7\]/],
  ];
  for (const [edit, pattern] of cases) {
    const c = ct();
    edit(c);
    assertThrows(() => validateCard(c, "card.json"), pattern, String(pattern));
  }
  const w = JSON.parse(Deno.readTextFileSync(join(ROOT, "models", "hnoseg-xs-brats.json")));
  w.inference.multiple = [2, 0, 2];
  assertThrows(() => validateCard(w, "card.json"), /inference\.multiple/);
});

Deno.test("cards: named spacings (-u highres|lowres)", () => {
  const m = shippedCard("monai-wholebody-ct")!;
  assertEquals(spacingOf(m), [1.5, 1.5, 1.5]);
  assertEquals(spacingOf(m, "lowres"), [3, 3, 3]);
  assertEquals(spacingOf(m, 2), [2, 2, 2]);
  assertThrows(() => spacingOf(m, "ultra"), /named spacings highres, lowres/);
  assertThrows(() => spacingOf(SIAM_V03, "lowres"), /no named spacings/);
});

Deno.test("cards: --card NAME finds a shipped card, --card FILE reads a file", async () => {
  assertEquals((await resolveCard("monai-wholebody-ct")).id, "monai-wholebody-ct");
  assertEquals((await resolveCard("hnoseg-xs-brats.json")).id, "hnoseg-xs-brats");
  await assertRejects(() => resolveCard("no-such-card"), /no such card \(shipped: siam-v0\.3, monai-wholebody-ct/);
  await using dir = await tempDir();
  const p = join(dir.path, "mine.json");
  const c = ct();
  c.id = "mine";
  await Deno.writeTextFile(p, JSON.stringify(c));
  assertEquals((await resolveCard(p)).id, "mine");
  c.inference.mode = "tiles";
  await Deno.writeTextFile(p, JSON.stringify(c));
  await assertRejects(() => resolveCard(p), /mine\.json: invalid model card: inference\.mode/);
});

Deno.test("cards: the listing names every shipped card", () => {
  const t = cardsTable().split("\n");
  assertEquals(t.length, 4);
  assert(t[1].startsWith("siam-v0.3") && t[2].startsWith("monai-wholebody-ct") && t[3].startsWith("hnoseg-xs-brats"));
  assert(t[2].includes("105") && t[2].includes("lowres") && t[3].includes("whole volume"));
});

Deno.test("cards: weight names are plain names and URLs https: only (http: to loopback), else 64 at parse", async () => {
  const card = (files: unknown[], url: string) => ({
    ...structuredClone(SIAM_V03),
    weights: { files, urls: { default: url }, sha256: {} },
  });
  for (const bad of ["../x/evil.onnx", "a/b.onnx", "..", ".", "c:\\x.onnx", "", "a\nb.onnx", 7]) {
    const e = assertThrows(() => validateCard(card([bad], "https://example.org/w/"), "bad.json"), /plain file name/);
    assertEquals((e as SiamizeError).exitCode, 64, String(bad));
  }
  for (
    const bad of ["file:///etc/", "ftp://example.org/", "http://example.org/w/", "not a url", "javascript:alert(1)"]
  ) {
    const e = assertThrows(() => validateCard(card(["a.onnx"], bad), "bad.json"), /weights\.urls\.default/);
    assertEquals((e as SiamizeError).exitCode, 64, bad);
  }
  for (const ok of ["https://example.org/w/", "http://127.0.0.1:8080/w/", "http://localhost/", "http://[::1]:9/"]) {
    validateCard(card(["fold_0.onnx"], ok), "ok.json");
  }
  // Through the CLI: refused before the output folder is made or the cache is touched.
  await using dir = await tempDir();
  const cardPath = join(dir.path, "evil.json");
  await Deno.writeTextFile(cardPath, JSON.stringify(card(["../x/evil.onnx"], "https://example.org/")));
  const r = await runCli(["--card", cardPath, "-i", join(dir.path, "in.nii"), "-o", join(dir.path, "out", "o.nii")]);
  assertEquals(r.code, 64);
  assert(/evil\.json: invalid model card: weights file "\.\.\/x\/evil\.onnx" must be a plain file name/.test(r.err[0]));
  assertEquals([...Deno.readDirSync(dir.path)].map((e) => e.name), ["evil.json"]);
  await Deno.writeTextFile(cardPath, JSON.stringify(card(["a.onnx"], "file:///etc/")));
  const f = await runCli(["--card", cardPath, "-i", join(dir.path, "in.nii"), "-o", join(dir.path, "out", "o.nii")]);
  assertEquals(f.code, 64);
  assert(/weights\.urls\.default "file:\/\/\/etc\/": weights are downloaded over https: only/.test(f.err[0]), f.err[0]);
  assertEquals(
    (assertThrows(
      () => weightsUrl(SIAM_V03, "fold_0.onnx", "cpu", () => "file:///tmp/"),
      /SIAMIZE_WEIGHTS_BASE_URL/,
    ) as SiamizeError).exitCode,
    64,
  );
});
