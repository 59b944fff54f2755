// Attack class "limit bypasses", last line of defence: an engine that ignores `max_tokens` (a fault
// an engine build or a custom server can show; our simulator and llama.cpp honour it) streams past
// what admission reserved. The relay feeds the key's StreamMeter and cuts the stream once the key's
// tokens-per-minute allowance is spent, with an SSE error event in OpenAI's shape, and the usage
// booked is what was really relayed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { ADMIN, makeKey } from "./stack.js";

const TOKENS = 600;

/** An OpenAI-compatible upstream that streams TOKENS tokens whatever `max_tokens` says. */
function runawayEngine(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i === TOKENS) {
          res.end("data: [DONE]\n\n");
          return;
        }
        const chunk = {
          id: "c1",
          object: "chat.completion.chunk",
          model: "runaway",
          choices: [{ index: 0, delta: { content: " tok" }, finish_reason: null }],
        };
        i++;
        res.write(`data: ${JSON.stringify(chunk)}\n\n`, () => setImmediate(tick));
      };
      tick();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

describe("security: a stream past the key's TPM is cut by the meter", () => {
  let engine: { url: string; server: Server };
  let gw: GatewayHandle;
  let dir: string;
  before(async () => {
    engine = await runawayEngine();
    dir = mkdtempSync(join(tmpdir(), "inferplane-stream-cut-"));
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: cut}
models:
  - {name: runaway, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: runaway, endpoints: ["${engine.url}"]}
routes:
  - {name: chat, targets: [{model: runaway}]}
gateway:
  auth: {mode: keys, store: sqlite, sqlitePath: "${join(dir, "gw.db")}"}
  usage: {flushInterval: 100}
`);
    gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      log: () => {},
      env: { INFERPLANE_ADMIN_TOKEN: ADMIN },
    });
  });
  after(async () => {
    await gw?.close();
    engine?.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("ends the stream with a tokens error event once the allowance is spent, and books what was relayed", async () => {
    const k = await makeKey(gw.url, { name: "cut", tpm: 300 });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat",
        stream: true,
        max_tokens: 50,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    const events = text
      .split("\n\n")
      .filter((e) => e.startsWith("data: ") && e !== "data: [DONE]")
      .map((e) => JSON.parse(e.slice(6)) as { choices?: unknown[]; error?: { code: string; type: string } });
    const relayed = events.filter((e) => e.choices !== undefined).length;
    const last = events.at(-1);
    assert.equal(last?.error?.code, "rate_limit_exceeded", text.slice(-400));
    assert.equal(last?.error?.type, "tokens");
    assert.ok(!text.includes("data: [DONE]"), "a cut stream does not claim to be done");
    assert.ok(
      relayed >= 50 && relayed < TOKENS,
      `cut after ${relayed} of ${TOKENS} tokens (50 reserved, TPM 300)`,
    );
    assert.ok(relayed <= 300, `no more than the key's TPM relayed: ${relayed}`);
  });
});
