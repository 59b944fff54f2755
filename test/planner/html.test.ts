// The HTML report rendered in headless Chromium (Debian `chromium` via playwright-core): the GPU
// drawing is there, with one SVG group per GPU of the inventory, and the page paints.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { inflateSync } from "node:zlib";
import { renderHtml } from "../../src/planner/html.js";
import { planSpec } from "../../src/planner/index.js";
import { startChromium } from "../services/chromium.js";
import { requireService } from "../services/index.js";
import { scenarioSpec } from "./scenarios.js";

/** Distinct RGB colours in a PNG (8-bit RGB/RGBA, no interlace: what Chromium writes). */
function distinctColours(png: Buffer): number {
  const width = png.readUInt32BE(16);
  const colourType = png[25];
  const channels = colourType === 6 ? 4 : 3;
  const chunks: Buffer[] = [];
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off);
    const type = png.toString("ascii", off + 4, off + 8);
    if (type === "IDAT") chunks.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  const seen = new Set<number>();
  for (let p = 0; p < raw.length; ) {
    const filter = raw[p++] as number;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (line[x - channels] as number) : 0;
      const b = prev[x] as number;
      const c = x >= channels ? (prev[x - channels] as number) : 0;
      const v = raw[p++] as number;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a);
        const pb = Math.abs(q - b);
        const pc = Math.abs(q - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[x] = (v + pred) & 0xff;
    }
    for (let x = 0; x < stride; x += channels) {
      seen.add(((line[x] as number) << 16) | ((line[x + 1] as number) << 8) | (line[x + 2] as number));
    }
    line.copy(prev);
  }
  return seen.size;
}

describe("planner: HTML report in headless Chromium", () => {
  it("draws one SVG group per GPU, MIG slices coloured by model, memory bars and the cost waterfall", async (t) => {
    const chromium = await requireService(t, "chromium", startChromium);
    if (!chromium) return;
    const services = ["a", "b", "c"].map((name, i) => ({
      name: `svc-${name}`,
      source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
      rate: 0.1,
      migProfile: ["1g.10gb", "2g.20gb", "3g.40gb"][i] as string,
      replicas: 3,
    }));
    const plan = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 4, gpusPerNode: 2, mode: "mig" }, services),
    );
    assert.ok(plan.feasible, JSON.stringify(plan.infeasible));
    const file = join(mkdtempSync(join(tmpdir(), "inferplane-html-")), "plan.html");
    writeFileSync(file, renderHtml(plan));

    const page = await chromium.browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`file://${file}`);
    const gpus = page.locator("svg#gpus > g.gpu");
    assert.equal(await gpus.count(), 4);
    assert.deepEqual(await gpus.evaluateAll((gs) => gs.map((g) => g.getAttribute("data-gpu"))), [
      "gpu-0/0",
      "gpu-0/1",
      "gpu-1/0",
      "gpu-1/1",
    ]);
    // MIG slices: as many rects as instances placed on each GPU, coloured per model.
    const migRects = await page.locator("svg#gpus > g.gpu[data-mode=mig] > rect[y='18']").count();
    const instances = plan.nodes
      .flatMap((n) => n.gpus)
      .reduce((s, g) => s + (g.layout.mode === "mig" ? g.layout.slices.length : 0), 0);
    assert.equal(migRects, instances);
    const fills = await page
      .locator("svg#gpus rect[y='18']")
      .evaluateAll((rs) => [...new Set(rs.map((r) => r.getAttribute("fill")))]);
    assert.ok(fills.length >= 3, `fills: ${fills.join(", ")}`);
    // Laid out: every GPU drawing has a size on the page.
    const box = await gpus.first().boundingBox();
    assert.ok(box && box.width > 100 && box.height > 20);
    assert.equal(await page.locator("svg.membar").count(), 3);
    assert.equal(await page.locator("svg#cost g.cost-step").count(), plan.cost.waterfall.length);
    // The screenshot is painted, not blank: the model colours show up in it.
    const png = await page.screenshot({ fullPage: true });
    assert.ok(distinctColours(png) > 20);
    await page.close();
  });
});
