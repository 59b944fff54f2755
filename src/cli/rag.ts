/**
 * `inferplane rag ingest|search|ask|eval`: the RAG service from the command line, on the spec's
 * store. Embeddings, rerank and answers go through a gateway: `--gateway URL`, or else an
 * in-process gateway for the spec's routes on a loopback port.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { InferplaneError } from "../errors.js";
import { startGateway } from "../gateway/server.js";
import { readQrels, readQueries } from "../rag/eval/beir.js";
import { evaluate, percentile } from "../rag/eval/metrics.js";
import { expandPaths, loadFile } from "../rag/ingest/loaders.js";
import { RagService } from "../rag/service.js";
import type { SourceDocument } from "../rag/types.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import type { Platform, RagSpec } from "../spec/schema.js";
import { type CliIO, printJson } from "./io.js";
import { renderTable } from "./table.js";

export interface RagCliOptions {
  config?: string;
  env?: string;
  collection?: string;
  gateway?: string;
  embed?: boolean;
  json?: boolean | string;
  k?: string;
  mode?: string;
  rerank?: boolean;
  source?: string;
  corpus?: string;
  queries?: string;
}

async function open(opts: RagCliOptions): Promise<{ svc: RagService; close: () => Promise<void> }> {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const rag = platform.rag;
  if (!rag) throw new InferplaneError("invalid_request", `${file}: the spec has no rag section`);
  let gatewayUrl = opts.gateway;
  let stopGateway = async () => {};
  if (!gatewayUrl && opts.embed !== false) {
    // A private in-process gateway for this command's own model calls: the operator runs it, no keys.
    const local: Platform = {
      ...platform,
      rag: { ...rag, enabled: false },
      gateway: { ...platform.gateway, auth: { ...platform.gateway.auth, mode: "none" } },
    };
    const gw = await startGateway(local, { host: "127.0.0.1", port: 0, log: () => {} });
    gatewayUrl = gw.url;
    stopGateway = () => gw.close();
  }
  const apiKey = process.env.INFERPLANE_API_KEY;
  const svc = await RagService.open(rag, {
    gatewayUrl: () => gatewayUrl ?? "",
    // A remote gateway wants an API key (the in-process one has auth off).
    headers: (): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    ...(opts.embed === false ? { noEmbeddings: true } : {}),
  });
  return {
    svc,
    close: async () => {
      await svc.close();
      await stopGateway();
    },
  };
}

function progress(io: CliIO, label: string) {
  if (!io.isTTY) return undefined;
  return (p: { documents: number; total: number; chunks: number }) => {
    const width = 30;
    const done = Math.round((p.documents / Math.max(1, p.total)) * width);
    process.stderr.write(
      `\r${label} [${"#".repeat(done)}${".".repeat(width - done)}] ${p.documents}/${p.total} documents, ${p.chunks} chunks`,
    );
    if (p.documents === p.total) process.stderr.write("\n");
  };
}

export async function ragIngestCommand(paths: string[], opts: RagCliOptions, io: CliIO): Promise<number> {
  const collection = opts.collection ?? "default";
  const { svc, close } = await open(opts);
  try {
    const docs: SourceDocument[] = [];
    for (const p of paths) {
      if (/^https?:\/\//.test(p)) docs.push(...(await svc.fetchUrl(p)));
      else {
        const { root, files } = expandPaths(p);
        if (files.length === 0) throw new InferplaneError("invalid_request", `${p}: no loadable files`);
        for (const f of files) docs.push(...(await loadFile(f, root)));
      }
    }
    await svc.ensureCollection(collection);
    const report = await svc.ingest(collection, docs, progress(io, `ingest ${collection}`));
    if (opts.json) printJson(io, { collection, ...report });
    else {
      io.out(
        `${collection}: ${report.documents} documents (${report.added} added, ${report.replaced} replaced, ${report.unchanged} unchanged), ${report.chunks} chunks written in ${(report.totalMs / 1000).toFixed(2)} s (embedding ${(report.embedMs / 1000).toFixed(2)} s)`,
      );
    }
    return 0;
  } finally {
    await close();
  }
}

function mode(opts: RagCliOptions, rag: RagSpec) {
  const m = opts.mode ?? rag.retrieval.mode;
  if (m !== "dense" && m !== "sparse" && m !== "hybrid") {
    throw new InferplaneError("usage", `--mode: "${m}" is not dense, sparse or hybrid`);
  }
  return m;
}

function kOf(opts: RagCliOptions, fallback: number): number {
  const k = opts.k === undefined ? fallback : Number(opts.k);
  if (!Number.isInteger(k) || k <= 0)
    throw new InferplaneError("usage", `--k: "${opts.k}" is not a positive integer`);
  return k;
}

export async function ragSearchCommand(query: string, opts: RagCliOptions, io: CliIO): Promise<number> {
  const collection = opts.collection ?? "default";
  const { svc, close } = await open({
    ...opts,
    ...(opts.mode === "sparse" && !opts.rerank ? { embed: false } : {}),
  });
  try {
    const { hits, timings } = await svc.search(collection, {
      query,
      k: kOf(opts, svc.config.retrieval.k),
      mode: mode(opts, svc.config),
      ...(opts.source ? { filter: { source: opts.source } } : {}),
      ...(opts.rerank ? { rerank: {} } : {}),
    });
    if (opts.json) printJson(io, { collection, query, hits, timings });
    else {
      io.out(
        renderTable(
          ["#", "score", "document", "source", "text"],
          hits.map((h, i) => [
            String(i + 1),
            h.score.toFixed(4),
            h.docId,
            h.source,
            h.text.replace(/\s+/g, " ").slice(0, 70),
          ]),
        ),
      );
    }
    return 0;
  } finally {
    await close();
  }
}

export async function ragAskCommand(question: string, opts: RagCliOptions, io: CliIO): Promise<number> {
  const collection = opts.collection ?? "default";
  const { svc, close } = await open(opts);
  try {
    const r = await svc.answer({
      query: question,
      collection,
      ...(opts.mode ? { mode: mode(opts, svc.config) } : {}),
    });
    if (r.kind !== "json") throw new Error("unexpected stream");
    if (opts.json) printJson(io, r.body);
    else {
      const choice = (r.body.choices as { message: { content: string } }[])[0];
      io.out(choice?.message.content ?? "");
      const sources = r.body.sources as { index: number; docId: string; source: string }[];
      if (sources.length > 0)
        io.out(`\nSources:\n${sources.map((s) => `  [${s.index}] ${s.docId} (${s.source})`).join("\n")}`);
    }
    return 0;
  } finally {
    await close();
  }
}

/** BEIR evaluation: ingest the corpus (unchanged documents are skipped), run every query, score. */
export async function ragEvalCommand(opts: RagCliOptions, io: CliIO): Promise<number> {
  if (!opts.corpus)
    throw new InferplaneError("usage", "--corpus DIR is required (a BEIR folder with corpus.jsonl)");
  const queriesDir = opts.queries ?? opts.corpus;
  const corpusFile = `${opts.corpus.replace(/\/$/, "")}/corpus.jsonl`;
  if (!existsSync(corpusFile)) throw new InferplaneError("invalid_request", `${corpusFile} does not exist`);
  const collection = opts.collection ?? "eval";
  const m = opts.mode ?? "sparse";
  const { svc, close } = await open({ ...opts, ...(m === "sparse" && !opts.rerank ? { embed: false } : {}) });
  try {
    const queries = readQueries(queriesDir);
    const qrels = readQrels(queriesDir);
    await svc.ensureCollection(collection);
    const docs = await loadFile(corpusFile, opts.corpus);
    const report = await svc.ingest(collection, docs, progress(io, `ingest ${collection}`));
    const k = kOf(opts, 100);
    const run = new Map<string, string[]>();
    const lat: number[] = [];
    for (const q of queries) {
      const t0 = performance.now();
      const { hits } = await svc.search(collection, {
        query: q.text,
        k,
        mode: mode({ ...opts, mode: m }, svc.config),
        candidates: Math.max(k, svc.config.retrieval.candidates),
        ...(opts.rerank ? { rerank: { topN: k } } : {}),
      });
      lat.push(performance.now() - t0);
      run.set(
        q.id,
        hits.map((h) => h.docId),
      );
    }
    const metrics = evaluate(run, qrels);
    const result = {
      collection,
      store: svc.store.kind,
      mode: m,
      rerank: opts.rerank === true,
      documents: report.documents,
      ...metrics,
      latencyMs: { p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99) },
    };
    if (typeof opts.json === "string") {
      const tmp = `${opts.json}.tmp-${process.pid}`;
      writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
      renameSync(tmp, opts.json);
    }
    if (opts.json === true) printJson(io, result);
    else {
      io.out(
        renderTable(
          ["store", "mode", "queries", "nDCG@10", "Recall@100", "MAP", "MRR@10", "p50 ms"],
          [
            [
              result.store,
              m + (result.rerank ? "+rerank" : ""),
              String(metrics.queries),
              metrics.ndcg10.toFixed(4),
              metrics.recall100.toFixed(4),
              metrics.ap.toFixed(4),
              metrics.rr10.toFixed(4),
              result.latencyMs.p50.toFixed(2),
            ],
          ],
        ),
      );
    }
    return 0;
  } finally {
    await close();
  }
}
