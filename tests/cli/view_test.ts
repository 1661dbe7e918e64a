import { join } from "../../lib/core/_std.ts";
import { libcName } from "../../lib/core/interrupt.ts";
import { parseViewCli } from "../../lib/cli/view.ts";
import { main } from "../../cli.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { GOLDEN } from "../_fixtures.ts";
import { taskCommand } from "../_tasks.ts";

Deno.test("siamize view: flags parsed; bad ones are usage errors", () => {
  const o = parseViewCli([
    "scan.nii.gz",
    "--labels",
    "l.nii.gz",
    "--card",
    "hnoseg-xs-brats",
    "--port",
    "8123",
    "--no-open",
  ]);
  assertEquals([o.scan, o.labels, o.card, o.port, o.open], [
    "scan.nii.gz",
    "l.nii.gz",
    "hnoseg-xs-brats",
    8123,
    false,
  ]);
  assertEquals(parseViewCli([]).open, true);
  assertEquals(parseViewCli([]).port, undefined);
  assertThrows(() => parseViewCli(["--port", "x"]), /--port x/);
  assertThrows(() => parseViewCli(["--port", "70000"]), /--port 70000/);
  assertThrows(() => parseViewCli(["a.nii", "b.nii"]), /one scan/);
  assertThrows(() => parseViewCli(["--frob"]), /siamize view: .*frob/);
});

Deno.test("siamize view --in-browser: parsed, in --help; --labels refused with it; a missing scan exits 66", async () => {
  const o = parseViewCli(["--in-browser", "scan.nii.gz", "--card", "my.json", "--port", "8124", "--no-open"]);
  assertEquals([o.inBrowser, o.scan, o.card, o.port, o.open], [true, "scan.nii.gz", "my.json", 8124, false]);
  assertEquals(parseViewCli(["scan.nii.gz"]).inBrowser, false);
  assertThrows(() => parseViewCli(["--in-browser", "s.nii", "--labels", "l.nii"]), /--labels is for siamize view/);
  const err: string[] = [], out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), isTty: false };
  assertEquals(await main(["view", "--help"], io), 0);
  assert(/--in-browser +serve the browser build/.test(out.join("\n")), out.join("\n"));
  assertEquals(await main(["view", "--in-browser", "/nonexistent/scan.nii.gz", "--no-open"], io), 66);
  assertEquals(err.length, 1);
  assert(/^siamize: \/nonexistent\/scan\.nii\.gz: cannot read/.test(err[0]), err[0]);
  assertEquals(await main(["view", "--in-browser", "--labels", "l.nii", "s.nii"], io), 64);
});

Deno.test("siamize view: a missing scan exits 66 with one line; --help exits 0", async () => {
  const err: string[] = [], out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l), isTty: false };
  assertEquals(await main(["view", "/nonexistent/scan.nii.gz", "--no-open"], io), 66);
  assertEquals(err.length, 1);
  assert(err[0].startsWith("siamize: /nonexistent/scan.nii.gz"), err[0]);
  assertEquals(await main(["view", "--help"], io), 0);
  assert(out[0].startsWith("siamize view"));
});

Deno.test({
  name: "siamize view (the task's permissions): serves with the token; Ctrl-C exits 130 and removes its temp folder",
  ignore: !libcName(),
  fn: async () => {
    const child = taskCommand("siamize", ["view", join(GOLDEN, "phantom.nii.gz"), "--no-open"]).spawn();
    let text = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let url = "";
    try {
      while (!url) {
        const { value, done } = await out.read();
        if (done) break;
        url = value.match(/http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\//)?.[0] ?? "";
      }
      while (!/temp folder (\S+);/.test(text)) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const temp = text.match(/temp folder (\S+);/)![1];
      assert(url, "no URL printed");
      assert(Deno.statSync(temp).isDirectory);
      const page = await fetch(url);
      assertEquals(page.status, 200);
      assert((await page.text()).includes("siamize view"));
      const bare = await fetch(url.replace(/[0-9a-f]{32}\/$/, ""));
      await bare.body?.cancel();
      assertEquals(bare.status, 403);
      child.kill("SIGINT");
      const status = await child.status;
      assertEquals(status.code, 130);
      assert(
        !(() => {
          try {
            Deno.statSync(temp);
            return true;
          } catch {
            return false;
          }
        })(),
        `${temp} left behind`,
      );
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await reader.cancel().catch(() => {});
      await out.cancel().catch(() => {});
    }
  },
});
