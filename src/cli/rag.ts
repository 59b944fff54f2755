/**
 * `inferplane rag ingest|search|ask|eval`: the RAG service from the command line, on the spec's
 * store. Embeddings, rerank and answers go through a gateway: `--gateway URL`, or else an
 * in-process gateway for the spec's routes on a loopback port.
 */
import { existsSync, renameSync, writeFileSync } from "node:fs";
import { InferplaneError } from "../errors.js";
import { startGateway } from "../gateway/server.js";
import { embeddedDefaultPlatform } from "../rag/defaults.js";
import { type BeirQuery, readQrels, readQueries } from "../rag/eval/beir.js";
import { type PairedBootstrap, pairedBootstrap } from "../rag/eval/bootstrap.js";
import { evaluate, type Metrics, percentile, perQuery, type Qrels, type Run } from "../rag/eval/metrics.js";
import { expandPaths, loadFile } from "../rag/ingest/loaders.js";
import { startLocalEmbedded } from "../rag/local-embedded.js";
import type { SearchRequest } from "../rag/retrieve/search.js";
import { RagService } from "../rag/service.js";
import type { SourceDocument } from "../rag/types.js";
import { renderTable } from "../report/table.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import type { Platform, RagSpec } from "../spec/schema.js";
import { type CliIO, printJson } from "./io.js";

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
  fusion?: string;
  denseWeight?: string;
  rrfK?: string;
  candidates?: string;
}

/**
 * The spec (`-c`, `$INFERPLANE_CONFIG`, `./inferplane.yaml`), else the embedded default platform
 * (SQLite, bge-small-en-v1.5 in this process): `rag` works on a fresh machine without a spec.
 */
function platformOf(opts: RagCliOptions): { platform: Platform; source: string } {
  const file = resolveSpecFile(opts.config);
  if (opts.config === undefined && process.env.INFERPLANE_CONFIG === undefined && !existsSync(file)) {
    return { platform: embeddedDefaultPlatform(), source: "embedded default" };
  }
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  return { platform, source: file };
}

async function open(opts: RagCliOptions): Promise<{ svc: RagService; close: () => Promise<void> }> {
  const { platform, source } = platformOf(opts);
  const rag = platform.rag;
  if (!rag) throw new InferplaneError("invalid_request", `${source}: the spec has no rag section`);
  let gatewayUrl = opts.gateway;
  const stops: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  try {
    if (!gatewayUrl && opts.embed !== false) {
      // Models the embedded engine runs (and nothing serves yet) start here, behind the gateway.
      const local = await startLocalEmbedded(platform, {
        progress: (m) => process.stderr.write(`${m}\n`),
      });
      stops.push(() => local.close());
      // A private in-process gateway for this command's own model calls: the operator runs it, no keys.
      const spec: Platform = {
        ...platform,
        rag: { ...rag, enabled: false },
        gateway: { ...platform.gateway, auth: { ...platform.gateway.auth, mode: "none" } },
      };
      const gw = await startGateway(spec, {
        host: "127.0.0.1",
        port: 0,
        log: () => {},
        endpoints: local.endpoints,
      });
      stops.push(() => gw.close());
      gatewayUrl = gw.url;
    }
    const apiKey = process.env.INFERPLANE_API_KEY;
    const svc = await RagService.open(rag, {
      gatewayUrl: () => gatewayUrl ?? "",
      // A remote gateway wants an API key (the in-process one has auth off).
      headers: (): Record<string, string> => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...(opts.embed === false ? { noEmbeddings: true } : {}),
    });
    stops.push(() => svc.close());
    return { svc, close };
  } catch (err) {
    await close();
    throw err;
  }
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
  const given = opts.mode ?? rag.retrieval.mode;
  const m = given === "bm25" ? "sparse" : given;
  if (m !== "dense" && m !== "sparse" && m !== "hybrid") {
    throw new InferplaneError("usage", `--mode: "${given}" is not bm25 (sparse), dense or hybrid`);
  }
  return m;
}

function fusionOf(opts: RagCliOptions, svc: RagService): NonNullable<SearchRequest["fusion"]> {
  const base = svc.defaultFusion();
  const method = opts.fusion ?? base.method;
  if (method === "rrf") {
    const k =
      opts.rrfK === undefined
        ? base.method === "rrf"
          ? base.k
          : svc.config.retrieval.rrfK
        : Number(opts.rrfK);
    if (!Number.isInteger(k) || (k as number) <= 0)
      throw new InferplaneError("usage", `--rrf-k: "${opts.rrfK}" is not a positive integer`);
    return { method: "rrf", k: k as number };
  }
  if (method !== "weighted")
    throw new InferplaneError("usage", `--fusion: "${method}" is not rrf or weighted`);
  const w = opts.denseWeight === undefined ? svc.config.retrieval.denseWeight : Number(opts.denseWeight);
  if (!Number.isFinite(w) || w < 0 || w > 1)
    throw new InferplaneError("usage", `--dense-weight: "${opts.denseWeight}" is not a number from 0 to 1`);
  return { method: "weighted", dense: w, sparse: 1 - w };
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InferplaneError("usage", `--${flag}: "${value}" is not a positive integer`);
  return n;
}

const kOf = (opts: RagCliOptions, fallback: number) => positive("k", opts.k, fallback);

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
    if (!svc.config.answer) {
      // No chat model to write an answer: show what retrieval found instead of pretending.
      const { hits } = await svc.search(collection, {
        query: question,
        k: svc.config.retrieval.k,
        mode: mode(opts, svc.config),
      });
      const passages = hits.map((h, i) => ({
        index: i + 1,
        docId: h.docId,
        source: h.source,
        score: h.score,
        text: h.text,
      }));
      if (opts.json)
        printJson(io, { answered: false, reason: "no answer model (rag.answer.route)", sources: passages });
      else {
        io.out(
          "No answer model is configured (rag.answer.route), so nothing was generated. The passages an answer would use:",
        );
        for (const p of passages)
          io.out(`  [${p.index}] ${p.docId} (${p.source}): ${p.text.replace(/\s+/g, " ").slice(0, 160)}`);
      }
      return 0;
    }
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

/** --corpus and --mode checked before anything is opened; `given` keeps bm25 as typed. */
function evalInputs(opts: RagCliOptions): { corpus: string; corpusFile: string; given: string } {
  if (!opts.corpus)
    throw new InferplaneError("usage", "--corpus DIR is required (a BEIR folder with corpus.jsonl)");
  const corpusFile = `${opts.corpus.replace(/\/$/, "")}/corpus.jsonl`;
  if (!existsSync(corpusFile)) throw new InferplaneError("invalid_request", `${corpusFile} does not exist`);
  const given = opts.mode ?? "sparse";
  if (!["bm25", "sparse", "dense", "hybrid"].includes(given)) {
    throw new InferplaneError("usage", `--mode: "${given}" is not bm25 (sparse), dense or hybrid`);
  }
  return { corpus: opts.corpus, corpusFile, given };
}

type SearchMode = ReturnType<typeof mode>;

/** What every query of one run searches with. */
interface EvalSearch {
  svc: RagService;
  collection: string;
  queries: BeirQuery[];
  k: number;
  candidates: number;
  fusion: SearchRequest["fusion"] | undefined;
}

/** Every query once → the run (doc ids by rank); latencies appended where asked. */
async function runQueries(
  e: EvalSearch,
  searchMode: SearchMode,
  rerank: boolean,
  lat?: number[],
  embedMs?: number[],
): Promise<Run> {
  const run: Run = new Map();
  for (const q of e.queries) {
    const t0 = performance.now();
    const { hits, timings } = await e.svc.search(e.collection, {
      query: q.text,
      k: e.k,
      mode: searchMode,
      candidates: e.candidates,
      ...(e.fusion ? { fusion: e.fusion } : {}),
      ...(rerank ? { rerank: { topN: e.k } } : {}),
    });
    lat?.push(performance.now() - t0);
    embedMs?.push(timings.embedMs);
    run.set(
      q.id,
      hits.map((h) => h.docId),
    );
  }
  return run;
}

/** nDCG@10 of this run against a BM25 run on the same queries, paired bootstrap. */
async function versusBm25(e: EvalSearch, run: Run, qrels: Qrels): Promise<PairedBootstrap> {
  const base = perQuery(await runQueries(e, "sparse", false), qrels);
  const mine = perQuery(run, qrels);
  const ids = [...mine.keys()];
  return pairedBootstrap(
    ids.map((id) => mine.get(id)?.ndcg10 ?? 0),
    ids.map((id) => base.get(id)?.ndcg10 ?? 0),
  );
}

interface EvalResult extends Metrics {
  store: string;
  mode: string;
  fusion?: NonNullable<SearchRequest["fusion"]>;
  rerank: boolean;
  vsBm25?: { ndcg10: PairedBootstrap };
  latencyMs: { p50: number };
}

function evalTable(result: EvalResult): string {
  const vsBm25 = result.vsBm25?.ndcg10;
  const ci = vsBm25
    ? `${vsBm25.delta >= 0 ? "+" : ""}${vsBm25.delta.toFixed(4)} [${vsBm25.ci95[0].toFixed(4)}, ${vsBm25.ci95[1].toFixed(4)}]`
    : "-";
  const fusion = result.fusion;
  return renderTable(
    ["store", "mode", "queries", "nDCG@10", "vs BM25 (95% CI)", "Recall@100", "MAP", "MRR@10", "p50 ms"],
    [
      [
        result.store,
        result.mode +
          (fusion ? ` (${fusion.method === "rrf" ? `rrf k=${fusion.k}` : `weighted ${fusion.dense}`})` : "") +
          (result.rerank ? "+rerank" : ""),
        String(result.queries),
        result.ndcg10.toFixed(4),
        ci,
        result.recall100.toFixed(4),
        result.ap.toFixed(4),
        result.rr10.toFixed(4),
        result.latencyMs.p50.toFixed(2),
      ],
    ],
  );
}

/** BEIR evaluation: ingest the corpus (unchanged documents are skipped), run every query, score. */
export async function ragEvalCommand(opts: RagCliOptions, io: CliIO): Promise<number> {
  const { corpus, corpusFile, given } = evalInputs(opts);
  const queriesDir = opts.queries ?? corpus;
  const sparseOnly = (given === "sparse" || given === "bm25") && !opts.rerank;
  // A BM25-only collection holds no vectors: dense and hybrid runs use their own.
  const collection = opts.collection ?? (sparseOnly ? "eval" : "eval-embedded");
  const { svc, close } = await open({ ...opts, ...(sparseOnly ? { embed: false } : {}) });
  try {
    const m = mode({ ...opts, mode: given }, svc.config);
    const queries = readQueries(queriesDir);
    const qrels = readQrels(queriesDir);
    await svc.ensureCollection(collection);
    const docs = await loadFile(corpusFile, corpus);
    const report = await svc.ingest(collection, docs, progress(io, `ingest ${collection}`));
    const k = kOf(opts, 100);
    const candidates =
      opts.candidates === undefined
        ? Math.max(k, svc.config.retrieval.candidates)
        : positive("candidates", opts.candidates, 1);
    const fusion = m === "hybrid" ? fusionOf(opts, svc) : undefined;
    const search: EvalSearch = { svc, collection, queries, k, candidates, fusion };
    const lat: number[] = [];
    const embedLat: number[] = [];
    const run = await runQueries(search, m, opts.rerank === true, lat, embedLat);
    const metrics = evaluate(run, qrels);
    const vsBm25 = m !== "sparse" || opts.rerank ? await versusBm25(search, run, qrels) : undefined;
    const result = {
      collection,
      store: svc.store.kind,
      mode: m,
      ...(fusion ? { fusion } : {}),
      candidates,
      rerank: opts.rerank === true,
      embedding: m === "sparse" && !opts.rerank ? null : svc.config.embedding.route,
      documents: report.documents,
      ...metrics,
      ...(vsBm25 ? { vsBm25: { ndcg10: vsBm25 } } : {}),
      latencyMs: { p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99) },
      embedLatencyMs: { p50: percentile(embedLat, 50), p99: percentile(embedLat, 99) },
    };
    if (typeof opts.json === "string") {
      const tmp = `${opts.json}.tmp-${process.pid}`;
      writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
      renameSync(tmp, opts.json);
    }
    if (opts.json === true) printJson(io, result);
    else io.out(evalTable(result));
    return 0;
  } finally {
    await close();
  }
}
