/**
 * `inferplane serve` (the built CLI) in its own process, with a temporary spec: one model whose
 * `endpoints` are the given URLs, one route to it with the given balancer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BalancerName } from "../../src/gateway/types.js";
import { CLI, httpReady, ROOT, type Service, spawnService } from "./procs.js";

export type { BalancerName };

export interface BenchSpec {
  /** Public route name clients send as `model`. */
  route: string;
  /** `models[].source`; its repo id is the served model name the gateway sends upstream. */
  source: string;
  endpoints: readonly string[];
  balancer: BalancerName;
  /** false turns the access log (on by default) off. */
  accessLog?: boolean;
}

export function benchSpecYaml(s: BenchSpec): string {
  return [
    "apiVersion: inferplane.dev/v1",
    "kind: Platform",
    "metadata:",
    "  name: bench",
    "models:",
    `  - name: ${s.route}-pool`,
    `    source: ${s.source}`,
    "    engine: vllm",
    "    endpoints:",
    ...s.endpoints.map((e) => `      - ${JSON.stringify(e)}`),
    "routes:",
    `  - name: ${s.route}`,
    "    targets:",
    `      - model: ${s.route}-pool`,
    `    balancer: ${s.balancer}`,
    ...(s.accessLog === false ? ["observability:", "  logging: {accessLog: false}"] : []),
    "",
  ].join("\n");
}

export interface GatewayProcess extends Service {
  url: string;
  specFile: string;
}

/**
 * Starts the gateway on `port`, pinned to `cpu`. With `profileFile` it runs under
 * bench/lib/profiled-gateway.ts instead (the same serve command, with V8's CPU profiler on;
 * SIGUSR2 writes the profile).
 */
export async function startGatewayProcess(
  spec: BenchSpec,
  o: {
    port: number;
    cpu?: string;
    profileFile?: string;
    nodeArgs?: string[];
    /** Another checkout's root (built), to run its gateway side by side with this one. */
    root?: string;
  },
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-gw-"));
  const specFile = join(dir, "inferplane.yaml");
  writeFileSync(specFile, benchSpecYaml(spec));
  const args = o.profileFile
    ? [
        ...(o.nodeArgs ?? []),
        "--import",
        "tsx",
        `${ROOT}bench/lib/profiled-gateway.ts`,
        specFile,
        String(o.port),
        o.profileFile,
      ]
    : [
        ...(o.nodeArgs ?? []),
        o.root ? join(o.root, "bin/inferplane.js") : CLI,
        "serve",
        "-c",
        specFile,
        "--port",
        String(o.port),
      ];
  const svc = await spawnService({
    name: "inferplane",
    cmd: process.execPath,
    args,
    ...(o.cpu ? { cpu: o.cpu } : {}),
    ready: httpReady(`http://127.0.0.1:${o.port}/readyz`),
    timeoutMs: 30_000,
  });
  const stop = svc.stop;
  return Object.assign(svc, {
    url: `http://127.0.0.1:${o.port}`,
    specFile,
    stop: async (graceMs?: number) => {
      await stop(graceMs);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}
