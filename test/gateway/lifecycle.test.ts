// Graceful drain on SIGTERM (the real process) and hot reload of the spec.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { manageLifecycle } from "../../src/gateway/lifecycle.js";
import { startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { freePort } from "../services/harness.js";

const root = new URL("../../", import.meta.url).pathname;

function spec(simUrl: string, extra = ""): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: m
    endpoints: ["${simUrl}"]
routes:
  - name: chat
    targets: [{model: llama}]${extra}
gateway:
  drainTimeout: 10s
`;
}

async function streamOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat",
        messages: [{ role: "user", content: "go" }],
        max_tokens: 80,
        ignore_eos: true,
        stream: true,
      }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return res.status === 200 && text.includes("data: [DONE]") && !text.includes('"error"');
  } catch {
    return false;
  }
}

describe("lifecycle", () => {
  let sim: SimServerHandle | undefined;
  after(async () => {
    await sim?.stop();
  });

  it("SIGTERM under load: readiness fails at once, every request accepted before the signal succeeds, exit 0", async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", servedModelName: "m" });
    const dir = mkdtempSync(join(tmpdir(), "inferplane-drain-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(file, spec(sim.url));
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(root, "bin/inferplane.js"), "serve", "-c", file, "--port", String(port), "--drain-delay", "300"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
      if (Date.now() >= deadline) {
        child.kill("SIGKILL"); // never leave the process behind the failure
        assert.fail("the gateway did not become ready");
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const before: Promise<boolean>[] = [];
    for (let i = 0; i < 30; i++) {
      before.push(streamOk(url));
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 50));
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    assert.equal(ready, 503, "readiness fails as soon as draining starts");
    const results = await Promise.all(before);
    assert.equal(results.filter((ok) => !ok).length, 0, "no request accepted before SIGTERM failed");
    assert.equal(await exited, 0);
  });

  it("reloads a changed spec, keeps the old one when the new one is invalid", async () => {
    sim ??= await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", servedModelName: "m" });
    const dir = mkdtempSync(join(tmpdir(), "inferplane-reload-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(file, spec(sim.url));
    const { platform } = parseSpec(spec(sim.url));
    const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    const logs: string[] = [];
    const stop = manageLifecycle(gw, {
      file,
      log: (level, msg) => logs.push(`${level} ${msg}`),
      onExit: () => {},
    });
    const names = async () =>
      ((await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] }).data
        .map((m) => m.id)
        .sort();
    try {
      // A stream in flight while the spec changes finishes.
      const inFlight = streamOk(gw.url);
      writeFileSync(file, spec(sim.url, "\n    aliases: [assistant]"));
      process.emit("SIGHUP");
      assert.deepEqual(await names(), ["assistant", "chat"]);
      assert.equal(await inFlight, true);

      writeFileSync(file, spec(sim.url).replace("kind: Platform", "kind: [Platform"));
      process.emit("SIGHUP");
      assert.ok(
        logs.some((l) => l.startsWith("error rejected the new spec")),
        logs.join("\n"),
      );
      assert.deepEqual(await names(), ["assistant", "chat"], "the running spec stays");
      assert.equal(await streamOk(gw.url), true);
    } finally {
      stop();
      await gw.close();
    }
  });
});
