// The conformance suite every engine adapter runs (hono's pattern): whatever the engine, the gateway
// relies on these properties. Engine-specific behaviour is tested in the engine's own test file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { API_OPS, type EngineAdapter } from "../../src/engines/index.js";
import { InferplaneError } from "../../src/errors.js";

export interface ConformanceCase {
  /** Shown in the suite name. */
  name: string;
  make: (opts?: { apiKeyEnv?: string }) => EngineAdapter;
  /** Whether the engine serves Prometheus metrics (then a minimal exposition must parse). */
  hasMetrics: boolean;
  /** A small exposition text of this engine with some load on it (for engines with metrics). */
  loadedText?: string;
}

export function runAdapterConformance(c: ConformanceCase): void {
  describe(`engine adapter conformance: ${c.name}`, () => {
    const a = c.make();

    it("identifies itself and its version", () => {
      assert.equal(typeof a.id, "string");
      assert.ok(a.version.length > 0);
    });

    it("has a health path starting with /", () => {
      assert.equal(typeof a.healthPath, "string");
      assert.ok(a.healthPath.startsWith("/"), a.healthPath);
    });

    it("every API path it offers starts with /, and it serves chat, completions or embeddings", () => {
      for (const op of API_OPS) {
        const p = a.apiPath(op);
        if (p !== undefined) assert.ok(p.startsWith("/"), `${op}: ${p}`);
      }
      assert.ok(
        a.apiPath("chat") !== undefined ||
          a.apiPath("completions") !== undefined ||
          a.apiPath("embeddings") !== undefined,
      );
    });

    it("metrics path and URL agree", () => {
      if (!c.hasMetrics) {
        assert.equal(a.metricsPath, undefined);
        assert.equal(a.metricsUrl("http://10.0.0.7:8000"), undefined);
        return;
      }
      assert.ok(a.metricsPath?.startsWith("/"));
      const url = a.metricsUrl("http://10.0.0.7:8000/") ?? "";
      assert.ok(url.endsWith(a.metricsPath ?? "?"), url);
      assert.ok(url.startsWith("http://10.0.0.7:"), url);
      assert.doesNotThrow(() => new URL(url));
    });

    it("parseLoad of an empty text, of comments only, or of garbage is undefined", () => {
      assert.equal(a.parseLoad("", 1), undefined);
      assert.equal(a.parseLoad("# HELP x y\n# TYPE x gauge\n", 1), undefined);
      assert.equal(a.parseLoad("<html>502 Bad Gateway</html>\n", 1), undefined);
      assert.equal(a.parseLoad('unrelated_metric{a="b"} 4\n', 1), undefined);
    });

    it("parseLoad of a loaded text gives non-negative numbers stamped with `now`", () => {
      if (!c.hasMetrics) {
        assert.equal(a.parseLoad(c.loadedText ?? "vllm:num_requests_running 3\n", 5), undefined);
        return;
      }
      assert.ok(c.loadedText, "a conformance case with metrics needs a loaded text");
      const load = a.parseLoad(c.loadedText, 1234.5);
      assert.ok(load, "the loaded text should parse");
      assert.equal(load.at, 1234.5);
      assert.ok(load.running >= 0 && Number.isFinite(load.running));
      assert.ok(load.waiting >= 0 && Number.isFinite(load.waiting));
      assert.ok(load.running + load.waiting > 0, "the fixture has load on it");
      if (load.kvUsage !== undefined) assert.ok(load.kvUsage >= 0 && load.kvUsage <= 1, String(load.kvUsage));
    });

    it("without an API key variable, no Authorization header", () => {
      assert.equal(a.requestHeaders({}).authorization, undefined);
    });

    it("with an API key variable, a Bearer header; a missing variable is a clear error", () => {
      const keyed = c.make({ apiKeyEnv: "TEST_UPSTREAM_KEY" });
      assert.equal(keyed.requestHeaders({ TEST_UPSTREAM_KEY: "sk-123" }).authorization, "Bearer sk-123");
      assert.throws(
        () => keyed.requestHeaders({}),
        (err: unknown) => err instanceof InferplaneError && /TEST_UPSTREAM_KEY/.test(err.message),
      );
      assert.throws(() => keyed.requestHeaders({ TEST_UPSTREAM_KEY: "" }), /TEST_UPSTREAM_KEY/);
    });
  });
}
