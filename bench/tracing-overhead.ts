/**
 * What tracing and the access log cost the gateway: the same non-streaming chat request through
 * `inferplane serve` (the built CLI) configured several ways, side by side in one run —
 *   off        tracing off, access log off (the floor)
 *   traced     tracing on, sampler always_on (every request: a server span and a client span per
 *              attempt, exported over OTLP/HTTP in batches)
 *   unsampled  tracing on, sampler always_off (instrumentation without recording or export)
 *   logged     access log on (one JSON line per request to stderr), tracing off
 *   both       tracing at 100% and the access log
 *   off2       the floor again: it must read like `off` (a check of the method)
 * The upstream is an nginx answering every request with a canned completion (`--stream N`: a
 * streamed request and a canned N-token SSE stream, relayed event by event) — nearly free, so the
 * gateway, not the upstream, sets the throughput: the worst case for a per-request cost.
 * `--stream N --token-gap-ms G` paces the stream as an engine does: a small upstream in this process
 * writes each token event on its own, G ms apart, so the gateway reads and relays them one by one
 * (nginx can only send a canned body in one piece). Each
 * variant's OTLP receiver is a small HTTP sink in this process that counts the spans it is sent
 * (so a run shows the spans really left the gateway).
 *
 * Every variant's gateway is started once, pinned to `--server-cpu` (1); wrk and nginx run on
 * `--client-cpu` (0). Two methods (`--mode`):
 *   alternate  (default) one gateway under load at a time, variants in an order rotated each
 *              round: the gateway has the core to itself, as in production;
 *   shared     every gateway under its own wrk at the same time: the scheduler shares the core
 *              equally, so throughputs compare the cost per request and whatever else runs on
 *              the machine (a shared 2-core box) hits every variant alike.
 * `off2` (the floor twice) shows the method's own noise. Median over `--rounds`.
 *
 *   npm run build && flock /tmp/bench.lock node --import tsx bench/tracing-overhead.ts \
 *     [--mode alternate|shared] [--stream TOKENS [--token-gap-ms G]] [--rounds 3] [--seconds 10] [--connections 32]
 *     [--variants off,traced,...] [--json FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startNginx } from "./lib/nginx.js";
import {
  CLI,
  cpuSeconds,
  freePort,
  gitRevision,
  hasCommand,
  httpReady,
  pinSelf,
  progress,
  type Service,
  spawnService,
  stopAll,
} from "./lib/procs.js";
import { runWrk } from "./lib/wrk.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    variants: { type: "string", default: "off,traced,unsampled,logged,both,off2" },
    mode: { type: "string", default: "alternate" },
    stream: { type: "string", default: "0" },
    "token-gap-ms": { type: "string" },
    json: { type: "string" },
  },
});
const mode = values.mode as string;
if (mode !== "alternate" && mode !== "shared") throw new Error(`--mode alternate|shared, not ${mode}`);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const connections = Number(values.connections);
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];

const P = "http/protobuf";
const VARIANTS = {
  off: { tracing: false, accessLog: false, sampler: "always_on", protocol: P },
  traced: { tracing: true, accessLog: false, sampler: "always_on", protocol: P },
  // The same spans exported as OTLP/JSON (2.3× the bytes).
  "traced-json": { tracing: true, accessLog: false, sampler: "always_on", protocol: "http/json" },
  logged: { tracing: false, accessLog: true, sampler: "always_on", protocol: P },
  both: { tracing: true, accessLog: true, sampler: "always_on", protocol: P },
  // Tracing on, nothing sampled: the cost of the instrumentation without recording or export.
  unsampled: { tracing: true, accessLog: false, sampler: "always_off", protocol: P },
  // The floor again: two identical gateways must read the same (a check of the method).
  off2: { tracing: false, accessLog: false, sampler: "always_on", protocol: P },
} as const;
type VariantName = keyof typeof VARIANTS;
const variants = (values.variants as string).split(",").map((v) => {
  if (!(v in VARIANTS)) throw new Error(`unknown variant ${v}; known: ${Object.keys(VARIANTS).join(", ")}`);
  return v as VariantName;
});
if (!hasCommand("wrk") || !hasCommand("nginx")) {
  console.error("needs wrk and nginx (apt-get install wrk nginx-light)");
  process.exit(2);
}

const SERVED = "meta-llama/Llama-3.1-8B-Instruct";
/** With `--stream N`: streamed requests, the upstream answering a canned stream of N tokens. */
const streamTokens = Number(values.stream);
const tokenGapMs = values["token-gap-ms"] === undefined ? undefined : Number(values["token-gap-ms"]);
if (tokenGapMs !== undefined && !(streamTokens > 0 && tokenGapMs >= 0))
  throw new Error("--token-gap-ms needs --stream N (N > 0) and a gap ≥ 0");
const BODY = JSON.stringify({
  model: "llama",
  messages: [{ role: "user", content: "Say hello in sixteen words." }],
  max_tokens: streamTokens > 0 ? streamTokens : 16,
  ...(streamTokens > 0 ? { stream: true } : {}),
});
/**
 * An SSE stream in vLLM's shape, trimmed to what the gateway reads (nginx takes at most 4 KiB in
 * a `return` string, so at most about 50 tokens): role chunk, N one-token chunks, the usage chunk
 * (with the model), [DONE].
 */
function cannedStream(n: number): string {
  const events = ['data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}'];
  for (let i = 0; i < n; i++) events.push('data: {"choices":[{"index":0,"delta":{"content":" w"}}]}');
  events.push(
    `data: {"model":"${SERVED}","choices":[],"usage":{"prompt_tokens":17,"total_tokens":${17 + n},"completion_tokens":${n}}}`,
  );
  events.push("data: [DONE]");
  const body = `${events.join("\n\n")}\n\n`;
  if (body.length > 4000)
    throw new Error(`--stream ${n}: the canned stream exceeds nginx's 4 KiB; use at most 50`);
  return body;
}

const CANNED = JSON.stringify({
  id: "chatcmpl-static",
  object: "chat.completion",
  created: 1700000000,
  model: SERVED,
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "the a of and to in is was for on that with as by at from" },
      logprobs: null,
      finish_reason: "length",
    },
  ],
  usage: { prompt_tokens: 17, total_tokens: 33, completion_tokens: 16 },
});

/**
 * `--token-gap-ms`: an upstream streaming `n` one-token events, each written on its own `gapMs`
 * apart (then the usage event and [DONE]), in vLLM's shape, like the canned stream.
 */
async function startPacedUpstream(
  n: number,
  gapMs: number,
): Promise<{ url: string; close: () => Promise<void> }> {
  const role = 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n';
  const token = 'data: {"choices":[{"index":0,"delta":{"content":" w"}}]}\n\n';
  const tail = `data: {"model":"${SERVED}","choices":[],"usage":{"prompt_tokens":17,"total_tokens":${17 + n},"completion_tokens":${n}}}\n\ndata: [DONE]\n\n`;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(role);
      let sent = 0;
      const next = () => {
        if (res.destroyed) return;
        if (sent === n) {
          res.end(tail);
          return;
        }
        sent++;
        res.write(token);
        setTimeout(next, gapMs);
      };
      setTimeout(next, gapMs);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Protobuf: the spans in an ExportTraceServiceRequest (resource_spans 1 → scope_spans 2 → spans 2). */
function countProtoSpans(b: Buffer, depth = 0, from = 0, to = b.length): number {
  let n = 0;
  let i = from;
  const varint = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = b[i++] as number;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
  };
  while (i < to) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else {
      const len = varint();
      const field = key >>> 3;
      if (depth === 0 && field === 1) n += countProtoSpans(b, 1, i, i + len);
      else if (depth === 1 && field === 2) n += countProtoSpans(b, 2, i, i + len);
      else if (depth === 2 && field === 2) n++;
      i += len;
    }
  }
  return n;
}

/** An OTLP/HTTP sink: answers every export with 200 and counts the spans in it (JSON or protobuf). */
async function startSink(): Promise<{ url: string; spans: () => number; close: () => Promise<void> }> {
  let spans = 0;
  const needle = Buffer.from('"spanId"');
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      if (req.headers["content-type"] === "application/x-protobuf") spans += countProtoSpans(body);
      else for (let i = body.indexOf(needle); i >= 0; i = body.indexOf(needle, i + needle.length)) spans++;
      res.writeHead(200, { "content-type": "application/json" }).end('{"partialSuccess":{}}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

function specYaml(upstream: string, sink: string, v: (typeof VARIANTS)[VariantName]): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: bench}
models:
  - name: llama-pool
    source: hf://${SERVED}
    engine: vllm
    endpoints: ["${upstream}"]
routes:
  - name: llama
    targets: [{model: llama-pool}]
observability:
  tracing: {enabled: ${v.tracing}, otlpEndpoint: "${sink}", sampler: ${v.sampler}, protocol: ${v.protocol}}
  logging: {accessLog: ${v.accessLog}}
`;
}

interface Run {
  variant: VariantName;
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  cpuUsPerReq: number;
  spansExported: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  // The OTLP sinks run in this process: with the client, never on the gateways' core (a collector
  // runs elsewhere in production).
  pinSelf(clientCpu);
  let upstream: string;
  let stopUpstream: () => Promise<void>;
  if (tokenGapMs !== undefined) {
    const paced = await startPacedUpstream(streamTokens, tokenGapMs);
    upstream = paced.url;
    stopUpstream = paced.close;
  } else {
    const nginxPort = await freePort();
    const nginx: Service = await startNginx({
      port: nginxPort,
      cpu: clientCpu,
      ...(streamTokens > 0
        ? { staticBody: cannedStream(streamTokens), staticContentType: "text/event-stream" }
        : { staticBody: CANNED }),
    });
    upstream = `http://127.0.0.1:${nginxPort}`;
    stopUpstream = () => nginx.stop();
  }
  const sinks = Object.fromEntries(
    await Promise.all(variants.map(async (v) => [v, await startSink()] as const)),
  ) as Record<VariantName, Awaited<ReturnType<typeof startSink>>>;
  const dir = mkdtempSync(join(tmpdir(), "inferplane-tracing-bench-"));
  const runs: Run[] = [];
  const gws: { variant: VariantName; port: number; svc: Service }[] = [];
  try {
    for (const variant of variants) {
      const specFile = join(dir, `${variant}.yaml`);
      writeFileSync(specFile, specYaml(upstream, sinks[variant].url, VARIANTS[variant]));
      const port = await freePort();
      const env = { ...process.env };
      for (const k of Object.keys(env)) if (k.startsWith("OTEL_")) delete env[k];
      const svc = await spawnService({
        name: `inferplane (${variant})`,
        cmd: process.execPath,
        args: [CLI, "serve", "-c", specFile, "--port", String(port)],
        cpu: serverCpu,
        env,
        ready: httpReady(`http://127.0.0.1:${port}/readyz`),
        timeoutMs: 30_000,
      });
      gws.push({ variant, port, svc });
    }
    /** Loads the given gateways at the same time: warm-up, then the measured window. */
    const measure = async (round: number, group: typeof gws): Promise<void> => {
      const loadAll = (durationS: number) =>
        Promise.all(
          group.map((g) =>
            runWrk({
              url: `http://127.0.0.1:${g.port}/v1/chat/completions`,
              headers: {},
              body: BODY,
              connections,
              durationS,
              cpu: clientCpu,
            }),
          ),
        );
      await loadAll(warmup);
      const spans0 = group.map((g) => sinks[g.variant].spans());
      const cpu0 = group.map((g) => cpuSeconds(g.svc.child.pid));
      const results = await loadAll(seconds);
      const cpu = group.map((g, i) => cpuSeconds(g.svc.child.pid) - (cpu0[i] as number));
      await new Promise((r) => setTimeout(r, 600)); // the batch processors' last exports
      for (const [i, g] of group.entries()) {
        const w = results[i] as Awaited<ReturnType<typeof runWrk>>;
        const run: Run = {
          variant: g.variant,
          round,
          rps: w.rps,
          p50Ms: w.p50Ms,
          p99Ms: w.p99Ms,
          errors: w.non2xx + w.socketErrors,
          cpuUsPerReq: w.requests > 0 ? ((cpu[i] as number) * 1e6) / w.requests : Number.NaN,
          spansExported: sinks[g.variant].spans() - (spans0[i] as number),
        };
        runs.push(run);
        progress(
          `round ${round + 1}/${rounds} ${g.variant}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, ${run.cpuUsPerReq.toFixed(1)} µs CPU/req, ${run.spansExported} spans exported, ${run.errors} errors`,
        );
      }
    };
    for (let round = 0; round < rounds; round++) {
      if (mode === "shared") await measure(round, gws);
      else
        for (let i = 0; i < gws.length; i++)
          await measure(round, [gws[(i + round) % gws.length] as (typeof gws)[number]]);
    }
  } finally {
    await Promise.all(gws.map((g) => g.svc.stop()));
    await Promise.all(Object.values(sinks).map((k) => k.close()));
    await stopUpstream();
    rmSync(dir, { recursive: true, force: true });
    await stopAll();
  }

  const base = median(runs.filter((r) => r.variant === "off").map((r) => r.rps));
  const summary = variants.map((variant) => {
    const mine = runs.filter((r) => r.variant === variant);
    const rps = median(mine.map((r) => r.rps));
    return {
      variant,
      rps,
      ratioToOff: rps / base,
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      cpuUsPerReq: median(mine.map((r) => r.cpuUsPerReq)),
      spansPerRequest: median(mine.map((r) => r.spansExported / (r.rps * seconds))),
      errors: mine.reduce((s, r) => s + r.errors, 0),
    };
  });
  console.log(
    `\ngateway throughput (${mode}), ${streamTokens > 0 ? `streamed ${streamTokens}-token answers${tokenGapMs !== undefined ? `, one event per write ${tokenGapMs} ms apart` : ""}` : "non-streamed answers"}, ${connections} connections, ${seconds} s × ${rounds} rounds (median), ${tokenGapMs !== undefined ? "paced" : "static"} upstream, gateways on CPU ${serverCpu}`,
  );
  console.log("variant   req/s   ×off   p50 ms  p99 ms  CPU µs/req  spans/req  errors");
  for (const s of summary) {
    console.log(
      `${s.variant.padEnd(8)} ${s.rps.toFixed(0).padStart(6)}  ${s.ratioToOff.toFixed(3)}  ${s.p50Ms.toFixed(2).padStart(6)}  ${s.p99Ms.toFixed(2).padStart(6)}  ${s.cpuUsPerReq.toFixed(1).padStart(10)}  ${s.spansPerRequest.toFixed(2).padStart(9)}  ${s.errors}`,
    );
  }
  if (values.json) {
    writeFileSync(
      values.json,
      `${JSON.stringify({ ...gitRevision(), mode, streamTokens, tokenGapMs, rounds, seconds, connections, summary, runs }, null, 2)}\n`,
    );
  }
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
