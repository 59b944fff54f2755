// An OpenTelemetry collector (built by install.sh with the collector builder: otlp receiver + file
// exporter) on a free loopback port. Every OTLP/HTTP export it receives is written as one line of
// OTLP JSON to a file; spans() reads them back, flattened, for assertions.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureBinary, freePort, HOST, makeDataDir, type Service, spawnService } from "./harness.js";

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};
interface OtlpKeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: OtlpKeyValue[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

/** A received span with plain attribute values (OTLP JSON's int64 strings turned into numbers). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  durationMs: number;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  events: string[];
}

export interface OtelcolService extends Service {
  readonly port: number;
  /** OTLP/HTTP base URL (what OTEL_EXPORTER_OTLP_ENDPOINT takes): http://127.0.0.1:PORT */
  readonly url: string;
  readonly exportFile: string;
  /** Every span written so far. */
  spans(): Promise<ReceivedSpan[]>;
}

function plain(v: AnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(plain);
  return undefined;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, plain(kv.value)]));
}

export function parseOtlpJsonLines(text: string): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    let doc: OtlpExport;
    try {
      doc = JSON.parse(line) as OtlpExport;
    } catch (err) {
      if (i === lines.length - 1) break; // the exporter is still writing this line
      throw err;
    }
    for (const rs of doc.resourceSpans ?? []) {
      const resource = attrs(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          out.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId || undefined,
            name: s.name,
            kind: s.kind,
            durationMs: (Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) || 0) / 1e6,
            attributes: attrs(s.attributes),
            resource,
            statusCode: s.status?.code ?? 0,
            events: (s.events ?? []).map((e) => e.name),
          });
        }
      }
    }
  }
  return out;
}

export async function startOtelcol(opts: { readyTimeoutMs?: number } = {}): Promise<OtelcolService> {
  const bin = await ensureBinary("otelcol-inferplane", "otelcol");
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("otelcol")]);
  const exportFile = join(dataDir, "traces.jsonl");
  const configPath = join(dataDir, "config.yaml");
  // JSON is YAML. The collector's own metrics endpoint (:8888) is off so parallel tests never collide.
  const config = {
    receivers: { otlp: { protocols: { http: { endpoint: `${HOST}:${port}` } } } },
    exporters: { file: { path: exportFile, flush_interval: "100ms" } },
    service: {
      telemetry: { metrics: { level: "none" }, logs: { level: "warn" } },
      pipelines: { traces: { receivers: ["otlp"], exporters: ["file"] } },
    },
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const url = `http://${HOST}:${port}`;
  const svc = await spawnService({
    name: "otelcol",
    cmd: bin,
    args: [`--config=${configPath}`],
    dataDir,
    // An empty export is a valid OTLP/HTTP request: 200 means the receiver is up.
    ready: async () => {
      const res = await fetch(`${url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"resourceSpans":[]}',
        signal: AbortSignal.timeout(2_000),
      });
      await res.arrayBuffer();
      return res.ok;
    },
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  const spans = async () => {
    const text = await readFile(exportFile, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw err;
    });
    return parseOtlpJsonLines(text);
  };
  return Object.assign(svc, { port, url, exportFile, spans });
}
