/**
 * An OTLP/HTTP JSON span exporter that writes the request body in one pass. The OpenTelemetry
 * exporter builds an intermediate object tree per span before JSON.stringify; at 100% sampling
 * that was the largest share of tracing's cost on the gateway (bench/tracing-overhead.ts). The
 * encoding follows the OTLP/JSON rules — hex trace and span ids, enums as integers, 64-bit
 * integers as decimal strings — and a unit test compares it with @opentelemetry/otlp-transformer's
 * output field by field. Spec: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding
 * Chosen with OTEL_EXPORTER_OTLP_PROTOCOL=http/json; http/protobuf (otlp-proto.ts) is the default.
 */
import type { Attributes, AttributeValue, HrTime, Link } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function nanos(t: HrTime): string {
  const [s, ns] = t;
  if (s === 0) return String(ns);
  const n = String(ns);
  return `${s}${"000000000".slice(n.length)}${n}`;
}

function anyValue(v: AttributeValue | undefined | null): string {
  switch (typeof v) {
    case "string":
      return `{"stringValue":${JSON.stringify(v)}}`;
    case "number":
      return Number.isInteger(v)
        ? `{"intValue":"${v}"}`
        : `{"doubleValue":${Number.isFinite(v) ? v : `"${v}"`}}`;
    case "boolean":
      return `{"boolValue":${v}}`;
    default:
      if (Array.isArray(v))
        return `{"arrayValue":{"values":[${v.map((x) => anyValue(x as AttributeValue)).join(",")}]}}`;
      return "{}";
  }
}

// Attribute keys and most values (operation, model, route, address, status) repeat on every span:
// their encoded form is built once. Caches are bounded so unusual values cannot grow them.
const MAX_KEYS = 1024;
const MAX_VALUES_PER_KEY = 256;
const encodedByKey = new Map<string, { prefix: string; values: Map<AttributeValue, string> }>();

function encodeAttribute(key: string, v: AttributeValue): string {
  let k = encodedByKey.get(key);
  if (k === undefined) {
    k = { prefix: `{"key":${JSON.stringify(key)},"value":`, values: new Map() };
    if (encodedByKey.size < MAX_KEYS) encodedByKey.set(key, k);
  }
  if (typeof v === "object") return `${k.prefix}${anyValue(v)}}`;
  let e = k.values.get(v);
  if (e === undefined) {
    e = `${k.prefix}${anyValue(v)}}`;
    if (k.values.size < MAX_VALUES_PER_KEY) k.values.set(v, e);
  }
  return e;
}

function attributes(attrs: Attributes | undefined): string {
  let out = "";
  if (!attrs) return out;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    out = out === "" ? encodeAttribute(key, v) : `${out},${encodeAttribute(key, v)}`;
  }
  return out;
}

function flags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

function link(l: Link): string {
  const c = l.context;
  return `{"traceId":"${c.traceId}","spanId":"${c.spanId}"${c.traceState ? `,"traceState":${JSON.stringify(c.traceState.serialize())}` : ""},"attributes":[${attributes(l.attributes)}],"droppedAttributesCount":${l.droppedAttributesCount ?? 0},"flags":${flags(c.traceFlags, c.isRemote)}}`;
}

export function spanJson(span: ReadableSpan): string {
  const c = span.spanContext();
  const parent = span.parentSpanContext;
  let s = `{"traceId":"${c.traceId}","spanId":"${c.spanId}"`;
  if (parent?.spanId) s += `,"parentSpanId":"${parent.spanId}"`;
  if (c.traceState) s += `,"traceState":${JSON.stringify(c.traceState.serialize())}`;
  s += `,"name":${JSON.stringify(span.name)},"kind":${span.kind + 1}`;
  s += `,"startTimeUnixNano":"${nanos(span.startTime)}","endTimeUnixNano":"${nanos(span.endTime)}"`;
  s += `,"attributes":[${attributes(span.attributes)}],"droppedAttributesCount":${span.droppedAttributesCount}`;
  if (span.events.length > 0) {
    s += `,"events":[${span.events
      .map(
        (e) =>
          `{"name":${JSON.stringify(e.name)},"timeUnixNano":"${nanos(e.time)}","attributes":[${attributes(e.attributes)}],"droppedAttributesCount":${e.droppedAttributesCount ?? 0}}`,
      )
      .join(",")}]`;
  }
  s += `,"droppedEventsCount":${span.droppedEventsCount}`;
  const st = span.status;
  s += `,"status":{${st.code !== 0 ? `"code":${st.code}` : ""}${st.message ? `${st.code !== 0 ? "," : ""}"message":${JSON.stringify(st.message)}` : ""}}`;
  if (span.links.length > 0) s += `,"links":[${span.links.map(link).join(",")}]`;
  s += `,"droppedLinksCount":${span.droppedLinksCount},"flags":${flags(c.traceFlags, parent?.isRemote)}}`;
  return s;
}

/** One ExportTraceServiceRequest as a string (tests); the exporter uses exportRequestBody. */
export function exportRequestJson(spans: readonly ReadableSpan[]): string {
  return exportRequestBody(spans).toString("utf8");
}

type SpansByScope = Map<string, ReadableSpan[]>;

/** Spans grouped by resource, then by instrumentation scope, each group in arrival order. */
function groupSpans(spans: readonly ReadableSpan[]): Map<ReadableSpan["resource"], SpansByScope> {
  const byResource = new Map<ReadableSpan["resource"], SpansByScope>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (!scopes) {
      scopes = new Map();
      byResource.set(span.resource, scopes);
    }
    const sc = span.instrumentationScope;
    const key = `${sc.name}@${sc.version ?? ""}@${sc.schemaUrl ?? ""}`;
    let list = scopes.get(key);
    if (!list) {
      list = [];
      scopes.set(key, list);
    }
    list.push(span);
  }
  return byResource;
}

/** One ScopeSpans object (its spans share a scope), appended to `pieces`. */
function pushScopeSpans(pieces: string[], list: readonly ReadableSpan[], first: boolean): void {
  const sc = (list[0] as ReadableSpan).instrumentationScope;
  pieces.push(
    `${first ? "" : ","}{"scope":{"name":${JSON.stringify(sc.name)}${sc.version ? `,"version":${JSON.stringify(sc.version)}` : ""}},"spans":[`,
  );
  for (let i = 0; i < list.length; i++)
    pieces.push(i === 0 ? spanJson(list[i] as ReadableSpan) : `,${spanJson(list[i] as ReadableSpan)}`);
  pieces.push(`]${sc.schemaUrl ? `,"schemaUrl":${JSON.stringify(sc.schemaUrl)}` : ""}}`);
}

/** The pieces UTF-8-encoded into one Buffer; UTF-16 → UTF-8 takes at most 3 bytes per code unit. */
function utf8Concat(pieces: readonly string[]): Buffer {
  let chars = 0;
  for (const p of pieces) chars += p.length;
  const buf = Buffer.allocUnsafe(chars * 3);
  let at = 0;
  for (const p of pieces) at += buf.write(p, at, "utf8");
  return buf.subarray(0, at);
}

/**
 * One ExportTraceServiceRequest, spans grouped by resource, then by instrumentation scope,
 * encoded straight into one Buffer: each span's string is flattened and UTF-8-encoded once, by
 * `buf.write`, instead of joined into a batch string first and encoded again.
 */
export function exportRequestBody(spans: readonly ReadableSpan[]): Buffer {
  const pieces: string[] = ['{"resourceSpans":['];
  let firstResource = true;
  for (const [resource, scopes] of groupSpans(spans)) {
    pieces.push(
      `${firstResource ? "" : ","}{"resource":{"attributes":[${attributes(resource.attributes as Attributes)}],"droppedAttributesCount":0},"scopeSpans":[`,
    );
    firstResource = false;
    let firstScope = true;
    for (const list of scopes.values()) {
      pushScopeSpans(pieces, list, firstScope);
      firstScope = false;
    }
    pieces.push(`]${resource.schemaUrl ? `,"schemaUrl":${JSON.stringify(resource.schemaUrl)}` : ""}}`);
  }
  pieces.push("]}");
  return utf8Concat(pieces);
}
