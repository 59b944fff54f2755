/**
 * DNS discovery: re-resolves a name every `intervalMs` and reports the endpoint URLs when the set
 * changes. Either A/AAAA records (a Kubernetes headless Service, a round-robin name) combined
 * with a configured port and scheme, or SRV records, which carry the port
 * (`_http._tcp.vllm.ns.svc.cluster.local`).
 *
 * A failed resolution (timeout, SERVFAIL, and also NXDOMAIN/NODATA: a name that briefly answers
 * nothing must not empty a pool) keeps the last set and is reported through `onError`. With
 * `A+AAAA`, one family answering "no records" while the other answers is normal (an IPv4-only
 * service) and not an error.
 *
 * SRV: only the records of the lowest priority value are used (RFC 2782: higher values are
 * backups); weights are ignored (the balancer spreads load by its own policy); a target of "."
 * means "no service". Targets stay host names in the URLs unless `resolveSrvTargets` is set.
 */
import { promises as dnsPromises } from "node:dns";
import { normalizeUrls, sameUrls } from "./static.js";
import type { Discovery } from "./types.js";

/** The part of `dns.promises.Resolver` discovery uses (injectable for tests). */
export interface DnsResolver {
  resolve4(hostname: string): Promise<string[]>;
  resolve6(hostname: string): Promise<string[]>;
  resolveSrv(hostname: string): Promise<{ name: string; port: number; priority: number; weight: number }[]>;
}

export type DnsRecordType = "A" | "AAAA" | "A+AAAA" | "SRV";

export interface DnsDiscoveryConfig {
  kind: "dns";
  /** Name to resolve (`vllm-headless.ai.svc.cluster.local`, `_http._tcp.vllm.ai.svc.cluster.local`). */
  name: string;
  /** Records to ask for. Default: `A+AAAA` when `port` is set, else `SRV`. */
  record?: DnsRecordType;
  /** Port of every address (A/AAAA only; SRV records carry theirs). */
  port?: number;
  /** URL scheme (default http). */
  scheme?: "http" | "https";
  /** Re-resolution period, ms (default 5 s). */
  intervalMs?: number;
  /** DNS servers (`["127.0.0.1:5353"]`); default: the system's. Ignored when `resolver` is given. */
  servers?: readonly string[];
  /** Per-query timeout, ms (default 2 s). Ignored when `resolver` is given. */
  timeoutMs?: number;
  /** Resolve SRV targets to addresses through the same resolver (default false: keep host names). */
  resolveSrvTargets?: boolean;
  /** Resolver to use instead of a `dns.promises.Resolver` (tests, custom transports). */
  resolver?: DnsResolver;
  /** Resolution errors (the last set stays in use). */
  onError?: (err: Error) => void;
}

/** DNS answers meaning "nothing under that name/type" rather than "could not ask". */
const NO_DATA = new Set(["ENODATA", "ENOTFOUND"]);

function isNoData(err: unknown): boolean {
  return NO_DATA.has((err as { code?: string }).code ?? "");
}

function hostPort(scheme: string, host: string, port: number): string {
  const h = host.includes(":") ? `[${host}]` : host.replace(/\.$/, "");
  return `${scheme}://${h}:${port}`;
}

export class DnsDiscovery implements Discovery {
  private readonly name: string;
  private readonly record: DnsRecordType;
  private readonly port: number | undefined;
  private readonly scheme: "http" | "https";
  private readonly intervalMs: number;
  private readonly resolveSrvTargets: boolean;
  private readonly resolver: DnsResolver;
  private readonly onError: ((err: Error) => void) | undefined;
  private last: string[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by stop(): results of resolutions started before are dropped. */
  private generation = 0;
  private onChange: ((urls: string[]) => void) | undefined;

  constructor(cfg: Omit<DnsDiscoveryConfig, "kind">) {
    this.name = cfg.name;
    this.port = cfg.port;
    this.record = cfg.record ?? (cfg.port !== undefined ? "A+AAAA" : "SRV");
    if (
      this.record !== "SRV" &&
      (this.port === undefined || !Number.isInteger(this.port) || this.port <= 0)
    ) {
      throw new Error(`DNS discovery of ${cfg.name}: ${this.record} records need a port`);
    }
    this.scheme = cfg.scheme ?? "http";
    this.intervalMs = Math.max(1, cfg.intervalMs ?? 5_000);
    this.resolveSrvTargets = cfg.resolveSrvTargets ?? false;
    this.onError = cfg.onError;
    if (cfg.resolver !== undefined) {
      this.resolver = cfg.resolver;
    } else {
      const r = new dnsPromises.Resolver({ timeout: cfg.timeoutMs ?? 2_000, tries: 2 });
      if (cfg.servers !== undefined && cfg.servers.length > 0) r.setServers([...cfg.servers]);
      this.resolver = r;
    }
  }

  /** Resolves once (reporting the set, or the error), then keeps re-resolving every interval. */
  async start(onChange: (urls: string[]) => void): Promise<void> {
    this.stop();
    this.onChange = onChange;
    this.last = undefined; // a (re)start reports the set even when it did not change
    const gen = this.generation;
    await this.refresh(gen);
    this.schedule(gen);
  }

  stop(): void {
    this.generation++;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One resolution now: the URLs it yields (without reporting them). Throws on failure. */
  async resolve(): Promise<string[]> {
    switch (this.record) {
      case "A":
        return this.addresses(await this.resolver.resolve4(this.name));
      case "AAAA":
        return this.addresses(await this.resolver.resolve6(this.name));
      case "A+AAAA":
        return this.addresses(await this.bothFamilies(this.name));
      case "SRV":
        return this.srv();
    }
  }

  private schedule(gen: number): void {
    if (gen !== this.generation) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh(gen).finally(() => this.schedule(gen));
    }, this.intervalMs);
    this.timer.unref();
  }

  private async refresh(gen: number): Promise<void> {
    let urls: string[];
    try {
      urls = await this.resolve();
    } catch (err) {
      if (gen !== this.generation) return;
      const e = err instanceof Error ? err : new Error(String(err));
      this.onError?.(new Error(`DNS discovery of ${this.name} (${this.record}): ${e.message}`, { cause: e }));
      return;
    }
    if (gen !== this.generation) return;
    if (this.last !== undefined && sameUrls(this.last, urls)) return;
    this.last = urls;
    this.onChange?.([...urls]);
  }

  private addresses(ips: readonly string[]): string[] {
    const port = this.port as number;
    return normalizeUrls(ips.map((ip) => hostPort(this.scheme, ip, port)));
  }

  /** A and AAAA together; one family's "no records" is fine, both failing is an error. */
  private async bothFamilies(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(host), this.resolver.resolve6(host)]);
    const out: string[] = [];
    const errors: unknown[] = [];
    for (const r of [v4, v6]) {
      if (r.status === "fulfilled") out.push(...r.value);
      else errors.push(r.reason);
    }
    if (errors.length === 2) throw errors[0];
    // A real failure (timeout, SERVFAIL) of one family could hide endpoints: keep the last set.
    const hard = errors.find((e) => !isNoData(e));
    if (hard !== undefined) throw hard;
    return out;
  }

  private async srv(): Promise<string[]> {
    const records = (await this.resolver.resolveSrv(this.name)).filter(
      (r) => r.name !== "" && r.name !== ".",
    );
    if (records.length === 0) return [];
    let best = Number.POSITIVE_INFINITY;
    for (const r of records) best = Math.min(best, r.priority);
    const chosen = records.filter((r) => r.priority === best);
    if (!this.resolveSrvTargets) {
      return normalizeUrls(chosen.map((r) => hostPort(this.scheme, r.name, r.port)));
    }
    const urls: string[] = [];
    for (const r of chosen) {
      const ips = await this.bothFamilies(r.name);
      for (const ip of ips) urls.push(hostPort(this.scheme, ip, r.port));
    }
    return normalizeUrls(urls);
  }
}
