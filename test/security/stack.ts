// The attack suite's target (not a test file itself): a real gateway in this process with its
// policy on a real Redis (keys, limits, usage), simulated vLLM replicas for chat, embeddings and
// rerank, and RAG on SQLite. Callers act as outsiders: HTTP only, with keys made by the admin API.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { fileLogger, testLogDir } from "../gateway/policy/test-logs.js";
import { type RedisService, startRedis } from "../services/redis.js";

export const ADMIN = "adm-security-suite-token-7f3a90";

export interface Stack {
  gw: GatewayHandle;
  redis: RedisService;
  chat: SimServerHandle;
  dir: string;
  /** Log files this stack's gateway wrote (the log scan reads them). */
  logName: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Name of the log file (and of the stack). */
  name: string;
  /** Extra lines under `gateway:` (indented two spaces). */
  gateway?: string;
  /** Extra fields of `gateway.auth` (`protectMetrics: true`). */
  auth?: string;
  /** Extra lines under `rag:` (indented two spaces). */
  rag?: string;
  /** Extra lines under `observability:`. */
  observability?: string;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const redis = await startRedis();
  // A 4096-token context: a request with no limit could otherwise make the replica write ~4,000 tokens.
  const chat = await startSimServer({
    model: "llama-3.1-8b",
    gpu: "H100-80GB",
    speed: 50,
    maxModelLen: 4096,
  });
  const embed = await startSimServer({ model: "bge-m3", gpu: "L4", speed: 50 });
  const rerank = await startSimServer({ model: "bge-reranker-v2-m3", gpu: "L4", speed: 50 });
  const dir = mkdtempSync(join(tmpdir(), `inferplane-${o.name}-`));
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: sec}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${chat.servedModelName}, endpoints: ["${chat.url}"]}
  - {name: embedder, source: hf://BAAI/bge-m3, servedModelName: ${embed.servedModelName}, endpoints: ["${embed.url}"]}
  - {name: reranker, source: hf://BAAI/bge-reranker-v2-m3, servedModelName: ${rerank.servedModelName}, endpoints: ["${rerank.url}"]}
routes:
  - {name: chat, aliases: [gpt-4o-mini], targets: [{model: llama}]}
  - {name: embed, targets: [{model: embedder}]}
  - {name: rerank, targets: [{model: reranker}]}
gateway:
  redis: {url: "${redis.url}"}
  auth: {mode: keys, store: redis, sqlitePath: "${join(dir, "gw.db")}"${o.auth ? `, ${o.auth}` : ""}}
  usage: {flushInterval: 100}
${o.gateway ?? ""}
rag:
  embedding: {route: embed, dimensions: 1024}
  rerank: {route: rerank, topN: 3}
  answer: {route: chat, maxContextTokens: 600}
  stores:
    vector: {kind: sqlite, path: ${join(dir, "rag.db")}}
    keyword: {kind: sqlite, path: ${join(dir, "rag.db")}}
${o.rag ?? ""}
observability:
  logging: {level: info}
${o.observability ?? ""}`);
  const gw = await startGateway(platform, {
    host: "127.0.0.1",
    port: 0,
    logger: fileLogger(o.name),
    env: { INFERPLANE_ADMIN_TOKEN: ADMIN },
  });
  return {
    gw,
    redis,
    chat,
    dir,
    logName: o.name,
    async stop() {
      await gw.close();
      await Promise.all([chat.stop(), embed.stop(), rerank.stop()]);
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

/** One HTTP call as an outsider; `key` undefined sends no credential. */
export async function call(
  base: string,
  method: string,
  path: string,
  key: string | undefined,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, json, text, headers: res.headers };
}

export interface NewKey {
  key: string;
  id: string;
}

/** A key made through the admin API (so it lives in Redis like any operator's). */
export async function makeKey(base: string, spec: Record<string, unknown>): Promise<NewKey> {
  const r = await call(base, "POST", "/admin/keys", ADMIN, spec);
  if (r.status !== 201) throw new Error(`admin /keys answered ${r.status}: ${r.text}`);
  return { key: r.json.key as string, id: r.json.id as string };
}

export interface UsageRow {
  key?: string;
  route?: string;
  model?: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/** Usage rows grouped by key and route, after the recorder's next flush. */
export async function usageByRoute(base: string): Promise<UsageRow[]> {
  await new Promise((r) => setTimeout(r, 350));
  const r = await call(base, "GET", "/admin/usage?group_by=key,route", ADMIN);
  return r.json.data as UsageRow[];
}

/** Every line the suite's logs hold that contains one of the secrets (empty: none leaked). */
export function leakedSecrets(secrets: readonly string[]): string[] {
  const dir = testLogDir();
  const hits: string[] = [];
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), "utf8");
    for (const s of secrets) {
      if (s && text.includes(s)) hits.push(`${f}: contains ${s.slice(0, 12)}…`);
    }
  }
  return hits;
}
