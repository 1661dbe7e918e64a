import { join } from "../../lib/core/_std.ts";
import { libcName } from "../../lib/core/interrupt.ts";
import { assert, assertEquals } from "../_assert.ts";
import { GOLDEN, tempDir } from "../_fixtures.ts";
import { tinyModel } from "../_models.ts";
import { taskCommand } from "../_tasks.ts";

/** Collects a child's stderr as it comes; `until` waits for a pattern (or the stream's end, or `seconds`). */
function collect(stream: ReadableStream<Uint8Array>) {
  let text = "";
  let wake = () => {};
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      wake();
    }
    wake();
  })();
  let ended = false;
  done.finally(() => ended = true);
  return {
    done,
    get text() {
      return text;
    },
    async until(pattern: RegExp, seconds: number): Promise<boolean> {
      const t0 = performance.now();
      while (!pattern.test(text) && !ended && performance.now() - t0 < seconds * 1000) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
      return pattern.test(text);
    },
  };
}

for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test({
    name: `${sig} during a network call: the scoped task exits ${code} within 5 s, leaving no files`,
    ignore: !libcName(),
    fn: async () => {
      await using dir = await tempDir();
      // A tiny network at a large patch: one tile takes seconds (tens on a
      // loaded machine), long enough to interrupt mid-call.
      const model = await tinyModel();
      const out = join(dir.path, "out");
      await Deno.mkdir(out);
      const child = taskCommand("siamize", [
        "-i",
        join(GOLDEN, "phantom.nii.gz"),
        "-o",
        join(out, "labels.nii.gz"),
        "-M",
        model,
        "-P",
        "256x256x192",
        "-c",
        "cpu",
        "-t",
        "1",
        "-v",
        "--vol",
        join(out, "vol.csv"),
        "--report",
        join(out, "run.json"),
      ]).spawn();
      const err = collect(child.stderr);
      assert(await err.until(/inference\n/, 120), `no inference stage line:\n${err.text}`);
      await new Promise((r) => setTimeout(r, 2000)); // inside the native run now
      const t0 = performance.now();
      child.kill(sig);
      const status = await child.status;
      const seconds = (performance.now() - t0) / 1000;
      await err.done;
      await child.stdout.cancel();
      assertEquals(status.code, code);
      assert(seconds < 5, `took ${seconds.toFixed(1)} s to exit`);
      assert(err.text.includes(`interrupted (${sig})`), err.text);
      assertEquals([...Deno.readDirSync(out)].map((e) => e.name), []);
    },
  });
}
