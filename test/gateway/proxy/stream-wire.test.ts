import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, get, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import { StreamWire } from "../../../src/gateway/proxy/stream-wire.js";

/** Frames of every byte value (latin1-held bytes), large enough to fill the socket's buffers. */
function frames(n: number, size: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    Buffer.from(Array.from({ length: size }, (_, j) => (i * 31 + j) % 256)).toString("latin1"),
  );
}

it("writes relayed bytes exactly, in order, honouring backpressure, and ends with the closing frame", async () => {
  const sent = frames(200, 32 * 1024); // 6.4 MB: more than loopback socket buffers hold
  let waits = 0;
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    const wire = new StreamWire(res, "latin1");
    for (const f of sent) {
      // Several frames per tick, as one upstream read brings them.
      if (!wire.write(f)) {
        waits++;
        await once(wire.drainTarget(), "drain");
      }
    }
    wire.end(sent[0]?.slice(0, 10) ?? "", "data: [END]\n\n");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const res = await new Promise<IncomingMessage>((resolve) =>
      get({ host: "127.0.0.1", port, path: "/" }, resolve),
    );
    assert.equal(res.headers["transfer-encoding"], "chunked");
    res.pause();
    await new Promise((r) => setTimeout(r, 300)); // a slow client: the server must wait, not buffer
    const parts: Buffer[] = [];
    res.on("data", (c: Buffer) => parts.push(c));
    res.resume();
    await once(res, "end");
    const got = Buffer.concat(parts);
    const want = Buffer.concat([
      ...sent.map((f) => Buffer.from(f, "latin1")),
      Buffer.from(sent[0]?.slice(0, 10) ?? "", "latin1"),
      Buffer.from("data: [END]\n\n"),
    ]);
    assert.equal(got.length, want.length);
    assert.ok(got.equals(want), "every byte as written");
    assert.ok(waits > 0, "the writer was told to wait at least once");
  } finally {
    server.close();
  }
});

it("a door's text goes through the response as UTF-8", async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200);
    const wire = new StreamWire(res, "utf8");
    wire.write("event: a\ndata: ✓\n\n");
    wire.write("event: b\ndata: 日本\n\n");
    wire.end("", "event: end\n\n");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(text, "event: a\ndata: ✓\n\nevent: b\ndata: 日本\n\nevent: end\n\n");
  } finally {
    server.close();
  }
});
