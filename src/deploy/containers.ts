/**
 * Containers for Inferplane itself: a multi-stage Dockerfile (build with dev dependencies,
 * run with production ones only, as a non-root user, with a HEALTHCHECK), its .dockerignore,
 * and a docker-compose.yaml for local runs — the gateway, Redis, Milvus, Elasticsearch,
 * Prometheus and Grafana. Each engine says how the compose file runs it
 * (`EngineDefinition.compose`): for real on CPU (llama.cpp, the embedded engine), or as
 * `inferplane sim` replicas (profile `cpu`) with the real engine in profile `gpu` behind the same
 * network alias; the real engine's command line is the engine's own (`containerRunFor`).
 */
import { ENGINE_IDS, engineInfo } from "../catalog/engines.js";
import { type ContainerRun, containerRunFor, engineDefinition, type RunContext } from "../engines/index.js";
import { catalogModelOf, servedModelName } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import { parseYamlSource } from "../spec/source.js";
import { enginePort, isDeployed } from "./engines.js";
import { REDIS_IMAGE } from "./gateway.js";
import { ELASTICSEARCH_IMAGE, MILVUS_IMAGE } from "./stores.js";
import { toYaml } from "./yaml.js";

export const NODE_IMAGE = "node:20-bookworm-slim";
export const PROMETHEUS_IMAGE = "prom/prometheus:v2.55.1";
export const GRAFANA_IMAGE = "grafana/grafana:11.3.0";

export function dockerfile(): string {
  return `# syntax=docker/dockerfile:1
# Inferplane: the CLI, gateway and simulator in one image. Build from the repository root:
#   docker build -f deploy/docker/Dockerfile -t ghcr.io/inferplane/inferplane:dev .

# ---- build: dev dependencies and the TypeScript compiler
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles a native addon when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \\
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# ---- runtime: compiled output and production dependencies only
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /src/node_modules ./node_modules
COPY --from=build --chown=node:node /src/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node bin ./bin
COPY --chown=node:node schema ./schema
# The gateway's working data (the embedded RAG store under .inferplane/): owned by the runtime
# user, so a volume mounted here starts writable.
RUN mkdir -p /app/.inferplane && chown node:node /app/.inferplane
# The image's built-in unprivileged user (uid 1000), matching the Deployment's runAsUser.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \\
    CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/inferplane.js"]
CMD ["serve", "-c", "/etc/inferplane/inferplane.yaml", "--host", "0.0.0.0", "--port", "8080"]
`;
}

export function dockerignore(): string {
  return [
    "# Keep the build context to what the Dockerfile copies.",
    ".git",
    "node_modules",
    "dist",
    ".cache",
    ".inferplane",
    "coverage",
    "test",
    "bench",
    "examples",
    "docs",
    "deploy",
    "*.log",
    ".env",
    ".env.*",
    "",
  ].join("\n");
}

/** The spec the compose gateway loads: static endpoints on the engines' network aliases. */
export function composeSpec(specText: string, p: Platform): string {
  const value = structuredClone(parseYamlSource(specText).value) as Record<string, unknown>;
  delete value.environments;
  for (const raw of (value.models ?? []) as Record<string, unknown>[]) {
    const m = p.models.find((x) => x.name === raw.name);
    if (!m || !isDeployed(m)) continue;
    raw.endpoints = [`http://engine-${m.name}:${enginePort(m)}`];
  }
  const gateway = (value.gateway ?? {}) as Record<string, unknown>;
  gateway.redis = { url: "redis://redis:6379" };
  gateway.listen = { host: "0.0.0.0", port: 8080 };
  value.gateway = gateway;
  const header = "# Rendered by inferplane render for docker compose: engines on their compose aliases.\n";
  return header + toYaml(value);
}

export function prometheusConfig(p: Platform): string {
  const engines = p.models.filter(isDeployed).map((m) => `engine-${m.name}:${enginePort(m)}`);
  return toYaml({
    global: { scrape_interval: "15s", evaluation_interval: "15s" },
    scrape_configs: [
      { job_name: "inferplane-gateway", static_configs: [{ targets: ["gateway:8080"] }] },
      ...(engines.length > 0 ? [{ job_name: "engines", static_configs: [{ targets: engines }] }] : []),
      { job_name: "milvus", metrics_path: "/metrics", static_configs: [{ targets: ["milvus:9091"] }] },
    ],
  });
}

export function grafanaDatasources(): string {
  return toYaml({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: "prometheus",
        type: "prometheus",
        access: "proxy",
        url: "http://prometheus:9090",
        isDefault: true,
      },
    ],
  });
}

export function grafanaDashboardProvider(): string {
  return toYaml({
    apiVersion: 1,
    providers: [{ name: "inferplane", type: "file", options: { path: "/var/lib/grafana/dashboards" } }],
  });
}

function gatewayService(): Record<string, unknown> {
  return {
    build: { context: "../..", dockerfile: "deploy/docker/Dockerfile" },
    image: "ghcr.io/inferplane/inferplane:dev",
    command: ["serve", "-c", "/etc/inferplane/inferplane.yaml", "--host", "0.0.0.0", "--port", "8080"],
    ports: ["8080:8080"],
    // The embedded RAG store and other state live under /app/.inferplane (the image's user owns it).
    volumes: ["./inferplane.yaml:/etc/inferplane/inferplane.yaml:ro", "gateway-data:/app/.inferplane"],
    depends_on: { redis: { condition: "service_healthy" } },
    restart: "unless-stopped",
  };
}

/** What the engine runs in compose: its own container, on the compose volume, without a plan. */
function composeRun(m: ModelSpec, cacheMount: string, gpu: boolean, gpus: number): ContainerRun {
  const run = containerRunFor(m.engine);
  if (run === undefined) throw new Error(`engine ${m.engine} is not deployed`);
  const ctx: RunContext = {
    cacheMount,
    port: enginePort(m),
    gpu,
    servedName: servedModelName(m),
    tensorParallel: gpus,
    gpuMemoryUtilization: m.gpuMemoryUtilization,
    maxModelLen: m.maxModelLen,
    secretName: "",
  };
  return run(m, ctx);
}

/** An engine that runs for real on CPU: its weight downloads as one-shot services, then the engine. */
function realEngineServices(m: ModelSpec, services: Record<string, unknown>): void {
  const alias = `engine-${m.name}`;
  const own = composeRun(m, "/models", false, 1);
  const weights = own.initContainers as { image: string; command: string[] }[];
  weights.forEach((w, i) => {
    services[`weights-${m.name}${i > 0 ? `-${i}` : ""}`] = {
      image: w.image,
      command: w.command,
      volumes: ["model-cache:/models"],
    };
  });
  services[alias] = {
    image: own.image,
    command: own.args,
    ...(own.env.length > 0 ? { environment: own.env.map((e) => `${e.name}=${e.value}`) } : {}),
    volumes: ["model-cache:/models"],
    ...(weights.length > 0
      ? { depends_on: { [`weights-${m.name}`]: { condition: "service_completed_successfully" } } }
      : {}),
    networks: { default: { aliases: [alias] } },
  };
}

function simService(m: ModelSpec): Record<string, unknown> {
  return {
    image: "ghcr.io/inferplane/inferplane:dev",
    profiles: ["cpu"],
    command: [
      "sim",
      "--model",
      catalogModelOf(m)?.id ?? servedModelName(m),
      "--engine",
      m.engine,
      "--served-model-name",
      servedModelName(m),
      "--host",
      "0.0.0.0",
      "--port",
      String(enginePort(m)),
    ],
    networks: { default: { aliases: [`engine-${m.name}`] } },
  };
}

/**
 * The real engine in profile `gpu` on GPUs of its own (`device_ids`; compose's `count` would hand
 * GPU 0 to every service), with the engine's own command line. It downloads its weights on start
 * into the Hugging Face cache volume (HF_TOKEN from the environment).
 */
function gpuService(m: ModelSpec, deviceIds: string[]): Record<string, unknown> {
  const port = enginePort(m);
  const own = composeRun(m, "/root/.cache/huggingface", true, deviceIds.length);
  const health = engineInfo(m.engine, m.engineVersion).healthPath ?? "/";
  return {
    image: own.image,
    profiles: ["gpu"],
    ...(own.command ? { entrypoint: own.command } : {}),
    command: own.args,
    ipc: "host",
    volumes: ["model-cache:/root/.cache/huggingface"],
    environment: ["HF_TOKEN"],
    deploy: {
      resources: {
        reservations: { devices: [{ driver: "nvidia", device_ids: deviceIds, capabilities: ["gpu"] }] },
      },
    },
    healthcheck: {
      test: ["CMD", "curl", "-f", `http://localhost:${port}${health}`],
      interval: "30s",
      timeout: "10s",
      retries: 5,
      start_period: "10m",
    },
    networks: { default: { aliases: [`engine-${m.name}`] } },
  };
}

/** Engine services of every deployed model; returns how many GPUs the `gpu` profile needs. */
function engineServices(p: Platform, services: Record<string, unknown>): number {
  let nextGpu = 0;
  for (const m of p.models.filter(isDeployed)) {
    const how = engineDefinition(m.engine).compose;
    if (how.real) {
      realEngineServices(m, services);
      continue;
    }
    services[`sim-${m.name}`] = simService(m);
    if (!how.gpuProfile) continue;
    const gpus = typeof m.gpu?.count === "number" && m.gpu.migProfile === undefined ? m.gpu.count : 1;
    const deviceIds = Array.from({ length: gpus }, (_, k) => String(nextGpu + k));
    nextGpu += gpus;
    services[`${m.engine}-${m.name}`] = gpuService(m, deviceIds);
  }
  return nextGpu;
}

function storeServices(services: Record<string, unknown>): void {
  services.milvus = {
    image: MILVUS_IMAGE,
    command: ["milvus", "run", "standalone"],
    environment: ["ETCD_USE_EMBED=true", "ETCD_DATA_DIR=/var/lib/milvus/etcd", "COMMON_STORAGETYPE=local"],
    ports: ["19530:19530"],
    volumes: ["milvus-data:/var/lib/milvus"],
    healthcheck: {
      test: ["CMD", "curl", "-f", "http://localhost:9091/healthz"],
      interval: "15s",
      timeout: "5s",
      retries: 10,
      start_period: "90s",
    },
  };
  services.elasticsearch = {
    image: ELASTICSEARCH_IMAGE,
    environment: ["discovery.type=single-node", "xpack.security.enabled=false", "ES_JAVA_OPTS=-Xms1g -Xmx1g"],
    ports: ["9200:9200"],
    volumes: ["es-data:/usr/share/elasticsearch/data"],
    healthcheck: {
      test: ["CMD-SHELL", "curl -fs http://localhost:9200/_cluster/health || exit 1"],
      interval: "15s",
      timeout: "5s",
      retries: 10,
    },
  };
}

function monitoringServices(services: Record<string, unknown>): void {
  services.prometheus = {
    image: PROMETHEUS_IMAGE,
    volumes: ["./prometheus.yml:/etc/prometheus/prometheus.yml:ro"],
    ports: ["9090:9090"],
  };
  services.grafana = {
    image: GRAFANA_IMAGE,
    environment: ["GF_AUTH_ANONYMOUS_ENABLED=true", "GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer"],
    volumes: [
      "./grafana/datasources.yaml:/etc/grafana/provisioning/datasources/inferplane.yaml:ro",
      "./grafana/dashboards.yaml:/etc/grafana/provisioning/dashboards/inferplane.yaml:ro",
      "./grafana/dashboards:/var/lib/grafana/dashboards:ro",
    ],
    ports: ["3000:3000"],
    depends_on: ["prometheus"],
  };
}

/** Engines whose real server the `gpu` profile runs (for the file's header). */
const GPU_PROFILE_ENGINES = ENGINE_IDS.filter((id) => engineDefinition(id).compose.gpuProfile);

export function compose(p: Platform): string {
  const services: Record<string, unknown> = {};
  services.gateway = gatewayService();
  services.redis = {
    image: REDIS_IMAGE,
    command: ["redis-server", "--save", "", "--appendonly", "no"],
    healthcheck: { test: ["CMD", "redis-cli", "ping"], interval: "5s", timeout: "3s", retries: 5 },
  };
  const gpus = engineServices(p, services);
  storeServices(services);
  monitoringServices(services);
  const real = GPU_PROFILE_ENGINES.map((id) => engineInfo(id).displayName).join(", ");
  const header = [
    `# Local stack: docker compose --profile cpu up (simulated engines) or --profile gpu up (${real}).`,
    `# The gpu profile gives each ${real} service GPUs of its own: it needs ${gpus} GPU${gpus === 1 ? "" : "s"} (device ids 0–${Math.max(0, gpus - 1)}).`,
  ].join("\n");
  return `${header}\n${toYaml({
    name: p.metadata.name,
    services,
    volumes: { "gateway-data": {}, "model-cache": {}, "milvus-data": {}, "es-data": {} },
  })}`;
}
