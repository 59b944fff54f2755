// Prometheus + promtool (Debian `prometheus` package). The package may run a system daemon on :9090;
// we ignore it and start our own instance with its own config, TSDB dir and loopback port.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ensureBinary,
  freePort,
  HOST,
  httpOk,
  makeDataDir,
  type RunResult,
  run,
  type Service,
  spawnService,
} from "./harness.js";

/** "host:port" (job "test", path /metrics) or a full job. */
export type ScrapeTarget =
  | string
  | {
      job: string;
      targets: readonly string[];
      metricsPath?: string;
      /** Target labels, as Kubernetes service discovery attaches `namespace` in a cluster. */
      labels?: Record<string, string>;
    };

export interface PrometheusOptions {
  scrapeTargets: readonly ScrapeTarget[];
  /** Contents of a rule file (YAML, `groups: ...`); evaluated every scrapeInterval. */
  rules?: string;
  /** Short by default so tests see samples within a couple of seconds. */
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}

/** One series of an instant-vector query result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusService extends Service {
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly configPath: string;
  /** GET /api/v1/query; resolves with the instant vector (throws on API errors or non-vector results). */
  query(expr: string): Promise<PromSample[]>;
}

interface PromQueryResponse {
  status: "success" | "error";
  error?: string;
  data?: { resultType: string; result: PromSample[] };
}

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusService> {
  const bin = await ensureBinary("prometheus", "prometheus");
  const [port, dataDir] = await Promise.all([freePort(), makeDataDir("prometheus")]);
  const interval = opts.scrapeInterval ?? "1s";
  const configPath = join(dataDir, "prometheus.yml");
  const rulesPath = join(dataDir, "rules.yml");
  if (opts.rules !== undefined) await writeFile(rulesPath, opts.rules);
  // JSON is valid YAML, so no YAML dependency is needed to write the config.
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: opts.rules !== undefined ? [rulesPath] : [],
    scrape_configs: opts.scrapeTargets.map((t, i) =>
      typeof t === "string"
        ? { job_name: i === 0 ? "test" : `test${i}`, static_configs: [{ targets: [t] }] }
        : {
            job_name: t.job,
            metrics_path: t.metricsPath ?? "/metrics",
            static_configs: [{ targets: t.targets, ...(t.labels ? { labels: t.labels } : {}) }],
          },
    ),
  };
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const url = `http://${HOST}:${port}`;
  const svc = await spawnService({
    name: "prometheus",
    cmd: bin,
    args: [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dataDir, "tsdb")}`,
      `--web.listen-address=${HOST}:${port}`,
    ],
    dataDir,
    ready: () => httpOk(`${url}/-/ready`),
    readyTimeoutMs: opts.readyTimeoutMs,
  });

  const query = async (expr: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5_000),
    });
    const body = (await res.json()) as PromQueryResponse;
    if (body.status !== "success" || !body.data) throw new Error(`query ${expr} failed: ${body.error}`);
    if (body.data.resultType !== "vector") throw new Error(`query ${expr}: got ${body.data.resultType}`);
    return body.data.result;
  };
  return Object.assign(svc, { port, url, configPath, query });
}

/**
 * Run promtool, e.g. `promtool(["check", "metrics"], { stdin: text })` or `promtool(["check", "rules", f])`.
 * Exit codes (2.42): 0 ok, 1 error, 3 lint problems only.
 */
export async function promtool(
  args: readonly string[],
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const bin = await ensureBinary("promtool", "prometheus");
  return run(bin, args, { stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 30_000 });
}
