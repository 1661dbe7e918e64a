import { assert, assertEquals } from "./_assert.ts";
import { chromiumMissing, launchChromium } from "./_chromium.ts";

const missing = chromiumMissing();

Deno.test({
  name: "headless Chromium runs a page from a local server, with WebGL2 and a WebGPU adapter",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response("<canvas id=c></canvas><p id=t>siamize</p>", { headers: { "content-type": "text/html" } }),
    );
    const browser = await launchChromium({ webgpu: true });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/`);
      // A string runs in the page (DOM types are not in the Deno type check).
      const got = await page.evaluate(`(async () => {
        const c = document.getElementById("c");
        const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
        return { text: document.getElementById("t").textContent, webgl2: !!c.getContext("webgl2"), webgpu: !!adapter };
      })()`) as { text: string; webgl2: boolean; webgpu: boolean };
      assertEquals(got.text, "siamize");
      assert(got.webgl2, "no WebGL2 in headless Chromium");
      assert(got.webgpu, "no WebGPU adapter in headless Chromium with --enable-unsafe-webgpu");
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});
