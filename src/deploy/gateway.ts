/**
 * The gateway in the cluster: Deployment (readiness on /readyz, a drain shorter than its grace
 * period), Service, Ingress with the nginx annotations streaming needs, an HPA when it runs
 * several replicas (then a Redis for shared limits), and the NetworkPolicies that let it reach
 * engines and stores and let only it (and Prometheus) reach the engines.
 */
import { engineInfo } from "../catalog/engines.js";
import { isExternalEngine } from "../engines/index.js";
import type { Platform } from "../spec/schema.js";
import { enginePort, isDeployed } from "./engines.js";
import { certManagerObjects, ingressAnnotations, ingressSpec } from "./ingress.js";
import {
  componentLabels,
  configMapName,
  GATEWAY_NAME,
  MONITORING_NAMESPACE,
  REDIS_NAME,
  secretName,
  selectorLabels,
} from "./names.js";
import { gatewayNeedsRedis } from "./runtime-config.js";
import { inClusterStores } from "./stores.js";
import type { K8sObject, PlacedObject } from "./types.js";

export const GATEWAY_IMAGE_REPO = "ghcr.io/inferplane/inferplane";
const PORT = 8080;
const PRE_STOP_SECONDS = 5;
export const REDIS_IMAGE = "redis:7.4-alpine";

/** Environment variables the spec names (`*Env`), read from the platform Secret. */
export function secretEnvNames(p: Platform): { name: string; optional: boolean }[] {
  const out = new Map<string, boolean>();
  const add = (name: string | undefined, optional: boolean) => {
    if (name !== undefined) out.set(name, (out.get(name) ?? true) && optional);
  };
  add(p.gateway.auth.adminTokenEnv, true);
  add(p.gateway.redis?.passwordEnv, false);
  for (const m of p.models) add(m.apiKeyEnv, !isExternalEngine(m.engine));
  const v = p.rag?.stores.vector;
  if (v?.kind === "milvus") add(v.tokenEnv, false);
  const k = p.rag?.stores.keyword;
  if (k && k.kind !== "sqlite") {
    add(k.usernameEnv, false);
    add(k.passwordEnv, false);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, optional]) => ({ name, optional }));
}

/** Whether the gateway is autoscaled (it is whenever it runs more than one replica). */
export function gatewayAutoscaled(p: Platform): boolean {
  return p.gateway.replicas > 1;
}

function seconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** The gateway container: the Inferplane image serving the spec, locked down, draining on stop. */
function gatewayContainer(p: Platform, version: string): Record<string, unknown> {
  const env: unknown[] = [
    { name: "NODE_ENV", value: "production" },
    ...secretEnvNames(p).map((s) => ({
      name: s.name,
      valueFrom: { secretKeyRef: { name: secretName(p), key: s.name, optional: s.optional } },
    })),
  ];
  return {
    name: "gateway",
    image: `${GATEWAY_IMAGE_REPO}:${version}`,
    args: ["serve", "-c", "/etc/inferplane/inferplane.yaml", "--host", "0.0.0.0", "--port", String(PORT)],
    ports: [{ name: "http", containerPort: PORT, protocol: "TCP" }],
    env,
    resources: { requests: { cpu: "500m", memory: "512Mi" }, limits: { memory: "1Gi" } },
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http" },
      periodSeconds: 5,
      failureThreshold: 2,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "http" },
      periodSeconds: 10,
      failureThreshold: 3,
    },
    // Endpoints drop the pod while it sleeps; then SIGTERM drains in-flight streams
    // (gateway.drainTimeout) well inside the grace period.
    lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", `sleep ${PRE_STOP_SECONDS}`] } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "config", mountPath: "/etc/inferplane", readOnly: true },
      { name: "data", mountPath: "/app/.inferplane" },
      { name: "tmp", mountPath: "/tmp" },
    ],
  };
}

/** The Ingress: streaming-friendly nginx settings, the spec's host, TLS and annotations. */
function gatewayIngress(p: Platform, labels: Record<string, string>): K8sObject {
  const name = GATEWAY_NAME;
  const g = p.gateway;
  const timeout = String(seconds(g.timeouts.total));
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name,
      labels,
      annotations: {
        // Server-sent events: nginx must pass each chunk on at once and wait out long generations.
        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
        "nginx.ingress.kubernetes.io/proxy-read-timeout": timeout,
        "nginx.ingress.kubernetes.io/proxy-send-timeout": timeout,
        "nginx.ingress.kubernetes.io/proxy-body-size": `${Math.ceil(g.maxRequestBytes / (1024 * 1024))}m`,
        ...ingressAnnotations(p),
      },
    },
    spec: ingressSpec(p, name, [
      { path: "/", pathType: "Prefix", backend: { service: { name, port: { name: "http" } } } },
    ]),
  };
}

export function gatewayObjects(p: Platform, version: string): PlacedObject[] {
  const name = GATEWAY_NAME;
  const labels = componentLabels(name, "gateway");
  const g = p.gateway;
  const autoscaled = gatewayAutoscaled(p);
  const grace = PRE_STOP_SECONDS + seconds(g.drainTimeout) + 10;
  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      // Set even under the HPA: the count it starts from (ArgoCD ignores /spec/replicas then).
      replicas: g.replicas,
      selector: { matchLabels: selectorLabels(name) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: grace,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: selectorLabels(name) },
                    topologyKey: "kubernetes.io/hostname",
                  },
                },
              ],
            },
          },
          containers: [gatewayContainer(p, version)],
          volumes: [
            { name: "config", configMap: { name: configMapName(p) } },
            { name: "data", emptyDir: {} },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
    },
  };
  const service: K8sObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, labels },
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(name),
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
    },
  };
  const out: PlacedObject[] = [
    { file: "gateway/deployment.yaml", object: deployment },
    { file: "gateway/service.yaml", object: service },
    { file: "gateway/ingress.yaml", object: gatewayIngress(p, labels) },
    ...certManagerObjects(p, name, labels),
    {
      file: "gateway/pdb.yaml",
      object: {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name, labels },
        spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(name) } },
      },
    },
  ];
  if (autoscaled) {
    out.push({
      file: "gateway/hpa.yaml",
      object: {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          minReplicas: g.replicas,
          maxReplicas: g.replicas * 4,
          metrics: [
            {
              type: "Resource",
              resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
            },
          ],
        },
      },
    });
  }
  if (p.observability.metrics.enabled) {
    out.push({
      file: "gateway/podmonitor.yaml",
      object: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name, labels },
        spec: {
          selector: { matchLabels: selectorLabels(name) },
          podMetricsEndpoints: [{ port: "http", path: p.observability.metrics.path, interval: "15s" }],
        },
      },
    });
  }
  if (gatewayNeedsRedis(p)) out.push(...redisObjects());
  out.push(...networkPolicies(p));
  return out;
}

function redisObjects(): PlacedObject[] {
  const name = REDIS_NAME;
  const labels = componentLabels(name, "redis");
  return [
    {
      file: "gateway/redis.yaml",
      object: {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: selectorLabels(name) },
          template: {
            metadata: { labels },
            spec: {
              securityContext: { runAsNonRoot: true, runAsUser: 999, fsGroup: 999 },
              containers: [
                {
                  name: "redis",
                  image: REDIS_IMAGE,
                  // Limits and key caches only: nothing worth persisting.
                  args: [
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--maxmemory",
                    "256mb",
                    "--maxmemory-policy",
                    "allkeys-lru",
                  ],
                  ports: [{ name: "redis", containerPort: 6379, protocol: "TCP" }],
                  resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "384Mi" } },
                  readinessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 5 },
                  livenessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 10 },
                },
              ],
            },
          },
        },
      },
    },
    {
      file: "gateway/redis.yaml",
      object: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, labels },
        spec: {
          selector: selectorLabels(name),
          ports: [{ name: "redis", port: 6379, targetPort: "redis", protocol: "TCP" }],
        },
      },
    },
  ];
}

function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { host: u.hostname, port };
}

function networkPolicies(p: Platform): PlacedObject[] {
  const deployed = p.models.filter(isDeployed);
  const enginePorts = [...new Set(deployed.map(enginePort))].sort((a, b) => a - b);
  const tcp = (port: number) => ({ protocol: "TCP", port });
  const egress: unknown[] = [
    // DNS, for discovery of engine pods and everything else.
    { ports: [{ protocol: "UDP", port: 53 }, tcp(53)] },
  ];
  if (enginePorts.length > 0) {
    egress.push({
      to: [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "engine" } } }],
      ports: enginePorts.map(tcp),
    });
  }
  if (gatewayNeedsRedis(p)) {
    egress.push({ to: [{ podSelector: { matchLabels: selectorLabels(REDIS_NAME) } }], ports: [tcp(6379)] });
  }
  const remote: { host: string; port: number }[] = [];
  for (const s of inClusterStores(p)) {
    egress.push({
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": s.namespace } },
          podSelector: { matchLabels: selectorLabels(s.app) },
        },
      ],
      ports: [tcp(s.port)],
    });
  }
  const external: string[] = [];
  const v = p.rag?.stores.vector;
  const k = p.rag?.stores.keyword;
  const inCluster = new Set(inClusterStores(p).map((s) => s.url));
  for (const url of [
    v?.kind === "milvus" ? v.uri : undefined,
    k && k.kind !== "sqlite" ? k.url : undefined,
  ]) {
    if (url !== undefined && !inCluster.has(url)) remote.push(hostPort(url));
  }
  if (p.observability.tracing.otlpEndpoint) remote.push(hostPort(p.observability.tracing.otlpEndpoint));
  for (const m of p.models) {
    for (const e of m.endpoints) remote.push(hostPort(e));
    if (isExternalEngine(m.engine) && m.endpoints.length === 0) external.push("443");
  }
  const remotePorts = [...new Set(remote.map((r) => r.port).concat(external.map(Number)))].sort(
    (a, b) => a - b,
  );
  if (remotePorts.length > 0) egress.push({ ports: remotePorts.map(tcp) });

  const gatewayPolicy: K8sObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: GATEWAY_NAME, labels: componentLabels(GATEWAY_NAME, "gateway") },
    spec: {
      podSelector: { matchLabels: selectorLabels(GATEWAY_NAME) },
      policyTypes: ["Ingress", "Egress"],
      ingress: [{ ports: [tcp(PORT)] }],
      egress,
    },
  };
  const out: PlacedObject[] = [{ file: "gateway/networkpolicy.yaml", object: gatewayPolicy }];
  if (enginePorts.length > 0) {
    const metricPorts = [...new Set(deployed.map((m) => engineInfo(m.engine, m.engineVersion).metricsPort))];
    out.push({
      file: "gateway/networkpolicy.yaml",
      object: {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "inferplane-engines", labels: { "app.kubernetes.io/component": "engine" } },
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/component": "engine" } },
          policyTypes: ["Ingress"],
          ingress: [
            {
              from: [{ podSelector: { matchLabels: selectorLabels(GATEWAY_NAME) } }],
              ports: enginePorts.map(tcp),
            },
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": MONITORING_NAMESPACE } },
                },
              ],
              ports: [...new Set([...enginePorts, ...metricPorts])].sort((a, b) => a - b).map(tcp),
            },
          ],
        },
      },
    });
  }
  if (gatewayNeedsRedis(p)) {
    out.push({
      file: "gateway/networkpolicy.yaml",
      object: {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: REDIS_NAME, labels: componentLabels(REDIS_NAME, "redis") },
        spec: {
          podSelector: { matchLabels: selectorLabels(REDIS_NAME) },
          policyTypes: ["Ingress"],
          ingress: [
            { from: [{ podSelector: { matchLabels: selectorLabels(GATEWAY_NAME) } }], ports: [tcp(6379)] },
          ],
        },
      },
    });
  }
  return out;
}
