/** Static discovery: the spec's `models[].endpoints`, reported once. */
import type { Discovery } from "./types.js";

export interface StaticDiscoveryConfig {
  kind: "static";
  /** Replica base URLs (`http://127.0.0.1:8000`). */
  urls: readonly string[];
}

/**
 * Endpoint URLs as the pool keys them: no trailing slash, no duplicates, sorted (so that two sets
 * compare with `sameUrls`). Throws on a string that is not an absolute http(s) URL.
 */
export function normalizeUrls(urls: Iterable<string>): string[] {
  const out = new Set<string>();
  for (const raw of urls) {
    const u = new URL(raw);
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      throw new Error(`endpoint URL ${raw} is not http(s)`);
    }
    out.add(raw.replace(/\/+$/, ""));
  }
  return [...out].sort();
}

/** Whether two normalized URL lists hold the same endpoints. */
export function sameUrls(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class StaticDiscovery implements Discovery {
  private readonly urls: string[];

  constructor(cfg: Omit<StaticDiscoveryConfig, "kind">) {
    this.urls = normalizeUrls(cfg.urls);
  }

  async start(onChange: (urls: string[]) => void): Promise<void> {
    onChange([...this.urls]);
  }

  stop(): void {}
}
