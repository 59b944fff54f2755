/**
 * The gateway's runtime config in the cluster: the spec as the user wrote it (environment
 * overrides applied, `environments` dropped), plus what only the compiler knows — where each
 * deployed engine's pods are found (DNS on its headless Service) and the Redis it shares.
 * Built from the source document, not the defaulted object, so defaults stay the gateway's —
 * with one exception: the production environment does not serve the operator console unless
 * its spec says so (`gateway.console.enabled`, in the base or the overlay), so a cluster only
 * exposes it where someone chose to.
 */
import { applyEnvironment } from "../spec/overlay.js";
import type { Platform } from "../spec/schema.js";
import { parseYamlSource } from "../spec/source.js";
import { enginePort, isDeployed } from "./engines.js";
import { engineName, REDIS_NAME } from "./names.js";
import { toYaml } from "./yaml.js";

type Plain = Record<string, unknown>;

/** The environment whose runtime config turns the console off by default. */
export const PRODUCTION_ENV = "production";

export function gatewayNeedsRedis(p: Platform): boolean {
  return p.gateway.replicas > 1 && p.gateway.redis === undefined;
}

export function runtimeConfig(specText: string, env: string | null, p: Platform): string {
  let doc = parseYamlSource(specText);
  if (env !== null) doc = applyEnvironment(doc, env);
  const value = structuredClone(doc.value) as Plain;
  delete value.environments;
  const metadata = (value.metadata ?? {}) as Plain;
  metadata.namespace = p.metadata.namespace;
  value.metadata = metadata;
  const models = (Array.isArray(value.models) ? value.models : []) as Plain[];
  for (const raw of models) {
    const m = p.models.find((x) => x.name === raw.name);
    if (!m || !isDeployed(m)) continue;
    raw.discovery = {
      kind: "dns",
      name: `${engineName(m)}.${p.metadata.namespace}.svc.cluster.local`,
      port: enginePort(m),
    };
  }
  const gateway = (value.gateway ?? {}) as Plain;
  if (gatewayNeedsRedis(p)) gateway.redis = { url: `redis://${REDIS_NAME}:6379` };
  const consoleSettings = (gateway.console ?? {}) as Plain;
  if (env === PRODUCTION_ENV && consoleSettings.enabled === undefined) {
    gateway.console = { ...consoleSettings, enabled: false };
  }
  if (Object.keys(gateway).length > 0) value.gateway = gateway;
  const header =
    "# Rendered by inferplane render: the spec with in-cluster discovery. Edit the source spec instead.\n";
  return header + toYaml(value);
}
