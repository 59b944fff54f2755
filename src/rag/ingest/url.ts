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
import { loadBuffer } from "./loaders.js";

export interface UrlPolicy {
  allowPrivateNetworks: boolean;
  allowHosts: string[];
  maxBytes: number;
  timeoutMs: number;
}

const BLOCKED = new BlockList();
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
  BLOCKED.addSubnet(net, bits, "ipv4");
for (const [net, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["64:ff9b::", 96],
  ["2001:db8::", 32],
] as const)
  BLOCKED.addSubnet(net, bits, "ipv6");

/** True when an address is internal (loopback, private, link-local, reserved…). */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped) return BLOCKED.check(mapped, "ipv4");
    return BLOCKED.check(address, "ipv6");
  }
  return true;
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
  const allowed = policy.allowPrivateNetworks || policy.allowHosts.includes(host);
  const internal = addresses.filter((a) => isInternalAddress(a.address));
  if (!allowed && (internal.length > 0 || addresses.length === 0)) {
    throw new InferplaneError(
      "rag_url_blocked",
      `${raw}: ${host} resolves to ${internal.map((a) => a.address).join(", ") || "nothing"}, an internal address; ` +
        "allow it with rag.ingest.allowHosts or rag.ingest.allowPrivateNetworks",
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
      return await loadBuffer(Buffer.concat(parts), `url${ext}`, raw, raw, Date.now());
    } finally {
      await agent.close();
    }
  }
  throw new InferplaneError("invalid_request", `${raw}: more than 5 redirects`);
}
