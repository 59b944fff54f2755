/**
 * URL ingestion with an SSRF guard: a URL's host must resolve only to public addresses —
 * not loopback, private (RFC 1918, ULA), link-local (cloud metadata at 169.254.169.254),
 * carrier-grade NAT, multicast, reserved or unspecified — unless the spec allows private
 * networks or names the host. The connection goes to the address that was checked (no DNS
 * rebinding between check and connect), and every redirect hop is checked again.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent, request } from "undici";
import { InferplaneError } from "../../errors.js";
import type { SourceDocument } from "../types.js";
import { loadBufferIsolated } from "./isolate.js";
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "./limits.js";

export interface UrlPolicy {
  allowPrivateNetworks: boolean;
  allowHosts: string[];
  maxBytes: number;
  timeoutMs: number;
  /** Bounds on parsing what was fetched (default: the schema's). */
  parse?: ParseLimits;
}

const BLOCKED_V4 = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  BLOCKED_V4.addSubnet(net, bits, "ipv4");

/** The 16 bytes of an IPv6 address in any spelling (`::`, embedded dotted IPv4, zone id); undefined if not one. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  let a = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (isIP(a) !== 6) return undefined;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a)?.[1];
  if (dotted) {
    const o = dotted.split(".").map(Number);
    a = `${a.slice(0, -dotted.length)}${(((o[0] as number) << 8) | (o[1] as number)).toString(16)}:${(((o[2] as number) << 8) | (o[3] as number)).toString(16)}`;
  }
  const [head = "", tail] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function prefixIs(b: Uint8Array, prefix: number[], bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((b[byte] as number) & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

const v4At = (b: Uint8Array, i: number) => `${b[i]}.${b[i + 1]}.${b[i + 2]}.${b[i + 3]}`;

/**
 * IPv6 ranges that are internal, or that carry an IPv4 address a router or the host would reach
 * (those are judged by that IPv4 address). Sources: IANA IPv6 Special-Purpose Address Registry;
 * RFC 4291 (mapped, compatible, link-local, multicast), RFC 4193 (ULA), RFC 3879 (site-local),
 * RFC 6052/8215 (NAT64), RFC 3056 (6to4), RFC 4380 (Teredo), RFC 6666 (discard), RFC 3849 (docs).
 */
function internalV6(b: Uint8Array): boolean {
  const zero80 = prefixIs(b, [], 80);
  if (zero80 && b[10] === 0xff && b[11] === 0xff) return BLOCKED_V4.check(v4At(b, 12), "ipv4"); // ::ffff:a.b.c.d
  if (prefixIs(b, [], 96)) return true; // ::, ::1 and IPv4-compatible ::a.b.c.d (deprecated; loopback on some stacks)
  if (prefixIs(b, [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96)) return true; // ::ffff:0:a.b.c.d (SIIT)
  if (prefixIs(b, [0x00, 0x64, 0xff, 0x9b], 32)) return true; // NAT64 64:ff9b::/96 and 64:ff9b:1::/48
  if (prefixIs(b, [0x01, 0x00, 0, 0, 0, 0, 0, 0], 64)) return true; // discard 100::/64
  if (prefixIs(b, [0x20, 0x01, 0, 0], 32)) return true; // Teredo 2001::/32
  if (prefixIs(b, [0x20, 0x01, 0x0d, 0xb8], 32)) return true; // documentation
  if (prefixIs(b, [0x20, 0x01, 0x00, 0x10], 28)) return true; // ORCHID
  if (prefixIs(b, [0x20, 0x02], 16)) return BLOCKED_V4.check(v4At(b, 2), "ipv4"); // 6to4 2002:a.b.c.d::
  if (prefixIs(b, [0xfc], 7)) return true; // ULA
  if (prefixIs(b, [0xfe, 0x80], 10)) return true; // link-local
  if (prefixIs(b, [0xfe, 0xc0], 10)) return true; // site-local (deprecated)
  if (prefixIs(b, [0xff], 8)) return true; // multicast
  return false;
}

/** True when an address is internal (loopback, private, link-local, reserved…), in any spelling. */
export function isInternalAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 4) return BLOCKED_V4.check(bare, "ipv4");
  if (family === 6) {
    const b = ipv6Bytes(bare);
    return b === undefined || internalV6(b);
  }
  return true;
}

/**
 * Whether `allowHosts` names this URL's host and port: `host` allows the scheme's default port
 * only, `host:port` (`[v6]:port`) that port, `host:*` every port.
 */
export function hostAllowed(url: URL, allowHosts: readonly string[]): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  const defaultPort = url.port === "";
  return allowHosts.some((entry) => {
    const e = entry.trim().toLowerCase();
    const m = /^\[([^\]]+)\](?::(\d+|\*))?$/.exec(e) ?? /^([^:]+)(?::(\d+|\*))?$/.exec(e);
    // A bare IPv6 address (several colons, no brackets) names the host with the default port.
    const [h, p] = m ? [m[1] as string, m[2]] : isIP(e) === 6 ? [e, undefined] : [undefined, undefined];
    if (h === undefined || h !== host) return false;
    if (p === undefined) return defaultPort;
    return p === "*" || p === port;
  });
}

/** Resolves and vets a URL's host; returns the address to connect to. */
export async function vetUrl(
  raw: string,
  policy: UrlPolicy,
): Promise<{ url: URL; address: string; family: 4 | 6 }> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InferplaneError("invalid_request", `"${raw}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InferplaneError("rag_url_blocked", `${raw}: only http and https URLs are fetched`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await dnsLookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new InferplaneError(
        "invalid_request",
        `${raw}: cannot resolve ${host}: ${(err as Error).message}`,
      );
    }
  }
  const allowed = policy.allowPrivateNetworks || hostAllowed(url, policy.allowHosts);
  const internal = addresses.filter((a) => isInternalAddress(a.address));
  if (!allowed && (internal.length > 0 || addresses.length === 0)) {
    throw new InferplaneError(
      "rag_url_blocked",
      `${raw}: ${host} resolves to ${internal.map((a) => a.address).join(", ") || "nothing"}, an internal address; ` +
        "allow it with rag.ingest.allowHosts (host:port) or rag.ingest.allowPrivateNetworks",
    );
  }
  const first = addresses[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

function pinnedAgent(address: string, family: 4 | 6): Agent {
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
  return new Agent({ connect: { lookup } });
}

const EXT_BY_TYPE: [RegExp, string][] = [
  [/text\/html|application\/xhtml/, ".html"],
  [/application\/pdf/, ".pdf"],
  [/text\/markdown/, ".md"],
  [/application\/(x-)?(ndjson|jsonl)/, ".jsonl"],
  [/text\//, ".txt"],
];

/** Fetches a URL through the guard and loads it as one document (id = the URL). */
export async function fetchUrlDocument(raw: string, policy: UrlPolicy): Promise<SourceDocument[]> {
  let current = raw;
  for (let hop = 0; hop < 5; hop++) {
    const { url, address, family } = await vetUrl(current, policy);
    const agent = pinnedAgent(address, family);
    try {
      const res = await request(url, {
        dispatcher: agent,
        method: "GET",
        headersTimeout: policy.timeoutMs,
        bodyTimeout: policy.timeoutMs,
        headers: { "user-agent": "inferplane-rag" },
      });
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        await res.body.dump();
        current = new URL(String(res.headers.location), url).toString();
        continue;
      }
      if (res.statusCode >= 400) {
        await res.body.dump();
        throw new InferplaneError("invalid_request", `${raw}: the server answered ${res.statusCode}`);
      }
      const parts: Buffer[] = [];
      let size = 0;
      for await (const part of res.body as AsyncIterable<Buffer>) {
        size += part.length;
        if (size > policy.maxBytes) {
          throw new InferplaneError(
            "request_too_large",
            `${raw}: larger than rag.ingest.maxBytes (${policy.maxBytes})`,
          );
        }
        parts.push(part);
      }
      const type = String(res.headers["content-type"] ?? "");
      const pathExt = /\.(txt|md|markdown|html?|pdf|jsonl)$/i.exec(url.pathname)?.[0];
      const ext = EXT_BY_TYPE.find(([re]) => re.test(type))?.[1] ?? pathExt ?? ".txt";
      return await loadBufferIsolated(
        Buffer.concat(parts),
        `url${ext}`,
        raw,
        raw,
        Date.now(),
        policy.parse ?? DEFAULT_PARSE_LIMITS,
      );
    } finally {
      await agent.close();
    }
  }
  throw new InferplaneError("invalid_request", `${raw}: more than 5 redirects`);
}
