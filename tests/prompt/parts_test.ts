import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { parsePromptCli } from "../../lib/cli/prompt_args.ts";
import { encodeGreyPng } from "../../lib/io/png.ts";
import { decodePng } from "../../lib/io/png_decode.ts";
import { trim } from "../../lib/prompt/embedding_cache.ts";
import { maskBox } from "../../lib/prompt/propagate.ts";
import { parsePrompts } from "../../lib/prompt/prompts_file.ts";
import { bilinearTaps } from "../../lib/prompt/pillow_resize.ts";
import { encodePrompt } from "../../lib/prompt/prompts.ts";
import { parsePromptCard, SAMRI_VIT_B } from "../../lib/prompt/card.ts";
import samri from "../../models/samri-vit-b.json" with { type: "json" };
import { main } from "../../cli.ts";

Deno.test("prompt args: SAMRI's flags, repeatable points, conflicts are usage errors", () => {
  const o = parsePromptCli(["-i", "a.png", "-o", "o", "--point", "1", "2", "--point", "3", "4", "0", "--no-png"]);
  assertEquals(o.points, [{ x: 1, y: 2 }, { x: 3, y: 4, label: 0 }]);
  assertEquals(o.png, false);
  assertEquals(parsePromptCli(["-i", "a", "-o", "b", "-M", "e.onnx,d.onnx"]).models, ["e.onnx", "d.onnx"]);
  assertThrows(() => parsePromptCli(["-i", "a", "-o", "b", "--box", "1", "2", "x", "4"]), /--box: not a number: x/);
  assertThrows(() => parsePromptCli(["-i", "a", "-o", "b", "-M", "one.onnx"]), /ENCODER\.onnx,DECODER\.onnx/);
  assertThrows(() => parsePromptCli(["-i", "a", "-o", "b", "--propagate"]), /--propagate needs --slice/);
  assertThrows(() => parsePromptCli(["-i", "a", "-o", "b", "--slice", "3:1"]), /AXIS 0, 1 or 2/);
  assertThrows(
    () => parsePromptCli(["-i", "a", "-o", "b", "--prompts", "p.json", "--box", "1", "1", "2", "2"]),
    /--prompts/,
  );
  assertThrows(() => parsePromptCli(["-o", "b"]), /-i IMAGE is required/);
});

Deno.test("prompt encoding: point only gets SAM's padding point; box + point puts the point first", () => {
  const p = encodePrompt({ points: [{ x: 10, y: 20, label: 0 }] }, 100, 50);
  assertEquals([...p.labels], [0, -1]);
  assertEquals([...p.coords].slice(2), [0, 0]);
  const bp = encodePrompt({ box: [1, 2, 3, 4], points: [{ x: 5, y: 6 }] }, 100, 100);
  assertEquals([...bp.labels], [1, 2, 3]);
  // one float32 multiply by the float32 ratio 1024 / 100 (SAMRI's apply_coords)
  assertEquals([...bp.coords], [5, 6, 1, 2, 3, 4].map((v) => Math.fround(v * Math.fround(10.24))));
  assertEquals([...encodePrompt({}, 100, 50).labels], [2, 3], "no prompt: the whole image as a box");
});

Deno.test("Pillow taps: downscaling widens the triangle, weights sum to 2^22", () => {
  const t = bilinearTaps(2051, 1024);
  assertEquals(t.size, 7);
  for (let i = 0; i < 1024; i++) {
    let s = 0;
    for (let j = 0; j < t.count[i]; j++) s += t.weights[i * t.size + j];
    assert(Math.abs(s - (1 << 22)) <= 4, `output ${i}: ${s}`);
  }
  assertEquals(bilinearTaps(181, 854).size, 3);
});

Deno.test("PNG: grey round trip, and a corrupt file is a one-line error", async () => {
  const data = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
  const png = await decodePng(await encodeGreyPng(4, 3, data), "g.png");
  assertEquals([png.width, png.height, png.channels, png.bitDepth], [4, 3, 1, 8]);
  assertEquals([...png.data], [...data]);
  let msg = "";
  await decodePng(new Uint8Array([1, 2, 3]), "bad.png").catch((e) => msg = e.message);
  assertEquals(msg, "bad.png: not a PNG file");
});

Deno.test("maskBox: bounding box plus margin, clipped; empty mask gives none", () => {
  const m = new Uint8Array(20);
  m[1 * 5 + 2] = 1;
  m[2 * 5 + 3] = 1;
  assertEquals(maskBox(m, 4, 5, 1), [1, 0, 4, 3]);
  assertEquals(maskBox(new Uint8Array(20), 4, 5), undefined);
});

Deno.test("prompts file: parsed entries, errors name the file and the entry", () => {
  assertEquals(parsePrompts('{"prompts": [{"box": [1, 2, 3, 4]}]}', "p.json"), [{ box: [1, 2, 3, 4] }]);
  assertThrows(() => parsePrompts('[{"box": [1, 2]}]', "p.json"), /p\.json: prompt 1: box \[x1, y1, x2, y2\] expected/);
  assertThrows(() => parsePrompts('[{"slice": "4:1"}]', "p.json"), /p\.json: prompt 1: slice "AXIS:INDEX"/);
  assertThrows(() => parsePrompts("[]", "p.json"), /non-empty list/);
});

Deno.test("embeddings cache: trim removes the oldest files beyond the cap", async () => {
  const dir = await Deno.makeTempDir();
  for (const [k, t] of [["a", 1], ["b", 2], ["c", 3]] as const) {
    await Deno.writeFile(`${dir}/${k}.f32`, new Uint8Array(100));
    await Deno.utime(`${dir}/${k}.f32`, t * 1000, t * 1000);
  }
  await trim(dir, 250);
  const left: string[] = [];
  for await (const e of Deno.readDir(dir)) left.push(e.name);
  assertEquals(left.sort(), ["b.f32", "c.f32"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("prompt card: the shipped card parses; another recipe is refused, naming the field", () => {
  assertEquals(SAMRI_VIT_B.networks.encoder.file, "samri_vit_b_encoder.onnx");
  const bad = structuredClone(samri) as unknown as Record<string, Record<string, unknown>>;
  bad.preprocessing.resize = "torch-bilinear";
  assertThrows(
    () => parsePromptCard(bad, "c.json"),
    /c\.json: preprocessing\.resize: only "pillow-bilinear" is implemented/,
  );
  const noIn = structuredClone(samri) as unknown as { networks: { decoder: { inputs: Record<string, unknown> } } };
  delete noIn.networks.decoder.inputs.mask_input;
  assertThrows(
    () => parsePromptCard(noIn, "c.json"),
    /c\.json: networks\.decoder\.inputs: SAM's decoder inputs lack mask_input/,
  );
});

Deno.test("siamize cards lists the prompt card and says where its weights come from", async () => {
  const out: string[] = [];
  assertEquals(await main(["cards"], { out: (l) => out.push(l), err: () => {}, isTty: false }), 0);
  const text = out.join("\n");
  assert(/prompt cards \(siamize prompt\):\nsamri-vit-b .*SAMRI bf8fff5, weights: export them/.test(text), text);
});
