/**
 * The OTLP/HTTP span exporter: one keep-alive connection pool, the request body encoded as
 * protobuf (`http/protobuf`, the spec's default) or JSON (`http/json`), both by our own one-pass
 * encoders (otlp-proto.ts, otlp-json.ts). Headers come from OTEL_EXPORTER_OTLP_HEADERS /
 * OTEL_EXPORTER_OTLP_TRACES_HEADERS (`k=v,k2=v2`, values URL-encoded) as the spec says.
 * Spec: https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { OTLP_PROTOCOLS } from "../spec/schema.js";
import { exportRequestBody } from "./otlp-json.js";
import { exportRequestProto } from "./otlp-proto.js";

export { OTLP_PROTOCOLS };
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

const ENCODINGS: Record<
  OtlpProtocol,
  { contentType: string; encode: (spans: readonly ReadableSpan[]) => Buffer }
> = {
  "http/protobuf": { contentType: "application/x-protobuf", encode: exportRequestProto },
  "http/json": { contentType: "application/json", encode: exportRequestBody },
};

/** `k=v,k2=v2` (values URL-encoded), as OTEL_EXPORTER_OTLP_HEADERS carries them. */
export function parseOtlpHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // keep it raw
    }
    if (k) out[k] = v;
  }
  return out;
}

export interface OtlpExporterOptions {
  /** Full traces URL, …/v1/traces. */
  url: string;
  protocol?: OtlpProtocol;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Told once per failed export (the gateway logs it; a tracing backend down must not be silent). */
  onError?: (err: Error) => void;
}

export class OtlpHttpExporter implements SpanExporter {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;

  private readonly encoding: (typeof ENCODINGS)[OtlpProtocol];

  constructor(private readonly o: OtlpExporterOptions) {
    this.encoding = ENCODINGS[o.protocol ?? "http/protobuf"];
    this.url = new URL(o.url);
    const https = this.url.protocol === "https:";
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 2 })
      : new HttpAgent({ keepAlive: true, maxSockets: 2 });
    this.send = https ? httpsRequest : httpRequest;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    if (this.stopped) {
      done({ code: ExportResultCode.FAILED, error: new Error("exporter shut down") });
      return;
    }
    const body = this.encoding.encode(spans);
    const p = new Promise<void>((resolve) => {
      const fail = (err: Error) => {
        this.o.onError?.(err);
        done({ code: ExportResultCode.FAILED, error: err });
        resolve();
      };
      const req = this.send(
        this.url,
        {
          method: "POST",
          agent: this.agent,
          timeout: this.o.timeoutMs ?? 10_000,
          headers: {
            ...this.o.headers,
            "content-type": this.encoding.contentType,
            "content-length": body.length,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              done({ code: ExportResultCode.SUCCESS });
              resolve();
            } else fail(new Error(`OTLP export to ${this.o.url} answered ${status}`));
          });
          res.on("error", fail);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`OTLP export to ${this.o.url} timed out`)));
      req.on("error", fail);
      req.end(body);
    });
    this.pending.add(p);
    void p.then(() => this.pending.delete(p));
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.forceFlush();
    this.agent.destroy();
  }
}
