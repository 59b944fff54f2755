// The gateway's HTTP/1.1 client for streamed answers (src/gateway/upstream/h1-*.ts): the parser
// on every split of real responses and on malformed ones, and the client against real loopback
// servers — node:http with keep-alive, and raw sockets that misbehave on purpose.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Cancel } from "../../../src/gateway/proxy/cancel.js";
import { transportFailure } from "../../../src/gateway/proxy/failure.js";
import { H1Client, type H1Request } from "../../../src/gateway/upstream/h1-client.js";
import { H1Error, type H1Head, ResponseParser } from "../../../src/gateway/upstream/h1-parser.js";
import { closedPort } from "./helpers.js";

function parseAll(parts: string[]): { heads: H1Head[]; body: string; parser: ResponseParser } {
  const heads: H1Head[] = [];
  const parser = new ResponseParser((h) => heads.push(h));
  let body = "";
  for (const p of parts) body += parser.feed(p);
  return { heads, body, parser };
}

/** Every way to cut `text` in two, and one byte at a time. */
function splits(text: string): string[][] {
  const out: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

const CHUNKED =
  "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n" +
  'f\r\ndata: {"a":1}\n\n\r\n' +
  "10;ext=1\r\ndata: [DONE]\n\n\u00e9\u00ff\r\n" +
  "0\r\nx-trailer: 1\r\n\r\n";
const CHUNKED_BODY = 'data: {"a":1}\n\ndata: [DONE]\n\n\u00e9\u00ff';

describe("HTTP/1.1 response parser", () => {
  it("reads a chunked body with extensions and trailers, however the reads split it", () => {
    for (const parts of splits(CHUNKED)) {
      const { heads, body, parser } = parseAll(parts);
      assert.equal(heads.length, 1);
      assert.equal(heads[0]?.statusCode, 200);
      assert.equal(heads[0]?.headers["content-type"], "text/event-stream");
      assert.equal(heads[0]?.keepAlive, true);
      assert.equal(heads[0]?.keepAliveMs, 5000);
      assert.equal(body, CHUNKED_BODY, `split ${parts.map((p) => p.length).join("+")}`);
      assert.ok(parser.done && !parser.extra);
    }
  });

  it("reads a content-length body; bytes after it mark the connection unusable", () => {
    const text = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 5\r\n\r\nslow!";
    for (const parts of splits(text)) {
      const { heads, body, parser } = parseAll(parts);
      assert.equal(heads[0]?.statusCode, 429);
      assert.equal(heads[0]?.headers["retry-after"], "7");
      assert.equal(body, "slow!");
      assert.ok(parser.done && !parser.extra);
    }
    const { parser } = parseAll([`${text}HTTP/1.1`]);
    assert.ok(parser.done && parser.extra);
  });

  it("a body without framing runs to the connection's end; 100 Continue is skipped; HTTP/1.0 closes", () => {
    const { heads, body, parser } = parseAll([
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nab",
      "cd",
    ]);
    assert.equal(heads.length, 1);
    assert.equal(heads[0]?.keepAlive, false);
    assert.equal(body, "abcd");
    assert.ok(parser.untilEof && !parser.done);
    parser.eof();
    assert.ok(parser.done);
    assert.equal(
      parseAll(["HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"]).heads[0]?.keepAlive,
      false,
    );
  });

  it("refuses malformed and oversized responses with H1_PARSE", () => {
    const bad = [
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabX",
      "HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
      `HTTP/1.1 200 OK\r\nx: ${"a".repeat(70 * 1024)}`,
      `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${"0".repeat(2000)}`,
    ];
    for (const text of bad) {
      assert.throws(
        () => parseAll([text]),
        (err: unknown) => err instanceof H1Error && err.code === "H1_PARSE",
        text.slice(0, 60),
      );
    }
  });
});

/** Everything a test opened, closed after the file's tests even when one fails midway. */
const opened: (() => unknown)[] = [];
after(async () => {
  for (const close of opened.splice(0)) await close();
});

function clientOf(port: number, connections = 2): H1Client {
  const c = new H1Client(`http://127.0.0.1:${port}`, { connections, connectTimeout: 1000 });
  opened.push(() => c.close());
  return c;
}

async function listen(server: Server | HttpServer): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

const REQ: H1Request = {
  method: "POST",
  path: "/v1/chat/completions",
  headers: { "content-type": "application/json" },
  body: '{"model":"m","stream":true,"prompt":"✓"}',
  headersTimeout: 2_000,
  bodyTimeout: 2_000,
};

async function readBody(client: H1Client, req: H1Request = REQ): Promise<{ status: number; body: string }> {
  const r = await client.request(req);
  let body = "";
  await r.body.each(
    (bytes) => {
      body += bytes;
      return "next";
    },
    () => Promise.resolve(),
  );
  return { status: r.statusCode, body: Buffer.from(body, "latin1").toString("utf8") };
}

describe("HTTP/1.1 client against node:http", () => {
  let server: HttpServer;
  let port = 0;
  const sockets = new Set<unknown>();
  const seen: { body: string; host: string | undefined }[] = [];

  before(async () => {
    server = createHttpServer((req, res) => {
      sockets.add(req.socket);
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => {
        body += c;
      });
      req.on("end", () => {
        seen.push({ body, host: req.headers.host });
        if (req.url === "/slow") {
          res.writeHead(200, { "content-type": "text/event-stream" });
          let n = 0;
          const t = setInterval(() => {
            if (n < 50) res.write(`data: {"n":${n++},"text":"日本"}\n\n`);
            else {
              clearInterval(t);
              res.end("data: [DONE]\n\n");
            }
          }, 2);
          return;
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: one ✓\n\n");
        res.end("data: [DONE]\n\n");
      });
    });
    port = await listen(server);
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it("streams every byte and reuses one keep-alive connection", async () => {
    const client = clientOf(port, 4);
    sockets.clear();
    const signal = new Cancel();
    const a = await readBody(client, { ...REQ, signal });
    const b = await readBody(client, { ...REQ, path: "/slow", signal });
    assert.equal(signal.listenerCount("abort"), 0, "no abort listener outlives its request");
    assert.equal(a.body, "data: one ✓\n\ndata: [DONE]\n\n");
    assert.equal(b.body.split("\n\n").length, 52);
    assert.ok(b.body.includes('"n":49,"text":"日本"') && b.body.endsWith("data: [DONE]\n\n"));
    assert.equal(sockets.size, 1, "the second request went on the first one's connection");
    assert.equal(seen.at(-1)?.body, REQ.body, "the request body arrived whole (UTF-8, content-length)");
    assert.equal(seen.at(-1)?.host, `127.0.0.1:${port}`);
  });

  it("at most `connections` connections; further requests wait their turn", async () => {
    const client = clientOf(port, 1);
    sockets.clear();
    const all = await Promise.all([1, 2, 3].map(() => readBody(client, { ...REQ, path: "/slow" })));
    for (const r of all) assert.ok(r.body.endsWith("data: [DONE]\n\n"));
    assert.equal(sockets.size, 1);
  });

  it("a consumer that says wait pauses the reads until it has drained", async () => {
    const client = clientOf(port, 1);
    const r = await client.request({ ...REQ, path: "/slow" });
    let reads = 0;
    let paused = false;
    let readWhilePaused = false;
    await r.body.each(
      () => {
        if (paused) readWhilePaused = true;
        reads++;
        return reads === 2 ? "wait" : "next";
      },
      () => {
        paused = true;
        return new Promise((resolve) =>
          setTimeout(() => {
            paused = false;
            resolve();
          }, 50),
        );
      },
    );
    assert.ok(reads > 2);
    assert.equal(readWhilePaused, false);
  });
});

/** A raw server whose connections are handed to `onRequest` with the request text. */
async function rawServer(onRequest: (socket: Socket, n: number) => void): Promise<{ port: number }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("data", (d) => {
      if (d.toString("latin1").includes("\r\n\r\n")) onRequest(socket, n++);
    });
    socket.on("error", () => {});
  });
  opened.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: await listen(server) };
}

describe("HTTP/1.1 client against misbehaving servers", () => {
  it("a kept-alive connection the server closes or resets as it is reused: once more on a fresh one", async () => {
    const { port } = await rawServer((socket, n) => {
      if (n === 1)
        socket.destroy(); // the second request, on the first connection: closed
      else if (n === 3)
        socket.resetAndDestroy(); // the fourth, on a reused one: reset
      else socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    });
    const client = clientOf(port, 2);
    for (let i = 0; i < 3; i++) assert.equal((await readBody(client)).body, "ok");
  });

  it("no head in time: H1_HEADERS_TIMEOUT, classified as a lost attempt (a timeout)", async () => {
    const { port } = await rawServer(() => {});
    const client = clientOf(port, 2);
    const t0 = performance.now();
    const err = await client.request({ ...REQ, headersTimeout: 150 }).catch((e: unknown) => e);
    assert.ok(err instanceof H1Error && err.code === "H1_HEADERS_TIMEOUT", String(err));
    assert.ok(performance.now() - t0 >= 140);
    const f = transportFailure(err, "p", 150);
    assert.equal(f.kind, "lost");
    assert.equal(f.kind === "lost" && f.error.code, "upstream_timeout");
  });

  it("a body that stalls: H1_BODY_TIMEOUT from the reader, after the bytes that came", async () => {
    const { port } = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\ndata: \r\n");
    });
    const client = clientOf(port, 2);
    const r = await client.request({ ...REQ, bodyTimeout: 150 });
    let got = "";
    const err = await r.body
      .each(
        (b) => {
          got += b;
          return "next";
        },
        () => Promise.resolve(),
      )
      .catch((e: unknown) => e);
    assert.equal(got, "data: ");
    assert.ok(err instanceof H1Error && err.code === "H1_BODY_TIMEOUT", String(err));
  });

  it("an abort mid-body ends the request and closes its connection", async () => {
    let closed: Promise<unknown> = Promise.resolve();
    const { port } = await rawServer((socket) => {
      closed = once(socket, "close");
      socket.write("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n");
    });
    const client = clientOf(port, 2);
    const signal = new Cancel();
    const r = await client.request({ ...REQ, signal });
    const done = r.body.each(
      () => {
        setImmediate(() => signal.abort());
        return "next";
      },
      () => Promise.resolve(),
    );
    const err = await done.catch((e: unknown) => e);
    assert.ok(err instanceof H1Error && err.code === "H1_ABORTED", String(err));
    await closed;
  });

  it("an error answer's body is read up to a cap; a closed port is a refused attempt", async () => {
    const { port } = await rawServer((socket) => {
      socket.write(
        `HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100000\r\n\r\n${"x".repeat(100000)}`,
      );
    });
    const client = clientOf(port, 2);
    const r = await client.request(REQ);
    assert.equal(r.statusCode, 500);
    assert.equal((await r.body.bytes(1000)).length, 1000);
    const refused = clientOf(await closedPort());
    const err = await refused.request(REQ).catch((e: unknown) => e);
    assert.equal((err as { code?: string }).code, "ECONNREFUSED");
    assert.equal(transportFailure(err, "p", 1000).kind, "refused");
  });
});
