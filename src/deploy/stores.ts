/**
 * RAG stores the compiler deploys: a Milvus or Elasticsearch/OpenSearch whose URL names an
 * in-cluster Service (`http://milvus-svc.ai-rag.svc:19530`) is rendered into that Service's
 * namespace; any other URL is an external endpoint the gateway only talks to.
 *
 * Corrected from the guide: Milvus runs standalone (the guide ran three copies of the
 * standalone image against an etcd and MinIO it never deployed; a Milvus cluster belongs to the
 * Milvus Operator or Helm chart); Elasticsearch gets the headless and client Services the
 * guide referenced but never defined, readiness probes, and an fsGroup so uid 1000 can write
 * its data volume.
 */
import type { Platform } from "../spec/schema.js";
import { componentLabels, secretName, selectorLabels } from "./names.js";
import type { K8sObject } from "./types.js";

// 2.5 or later: the store creates BM25 functions (full-text search arrived in Milvus 2.5.0);
// v2.5.10 is a published release (github.com/milvus-io/milvus/releases/tag/v2.5.10).
export const MILVUS_IMAGE = "milvusdb/milvus:v2.5.10";
export const ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:8.15.0";
export const OPENSEARCH_IMAGE = "opensearchproject/opensearch:2.18.0";

export interface InClusterStore {
  kind: "milvus" | "elasticsearch" | "opensearch";
  url: string;
  /** Client Service name (the URL's first label). */
  service: string;
  namespace: string;
  port: number;
  /** `app.kubernetes.io/name` of the store's pods. */
  app: string;
  usernameEnv?: string;
  passwordEnv?: string;
  /** StorageClass of the data volumes; unset: the cluster's default class. */
  storageClass?: string;
}

const SVC_HOST = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?$/;

function parse(url: string, kind: InClusterStore["kind"], defaultPort: number): InClusterStore | null {
  const u = new URL(url);
  const m = SVC_HOST.exec(u.hostname);
  if (!m || m[1] === undefined || m[3] === undefined) return null;
  return {
    kind,
    url,
    service: m[1],
    namespace: m[3],
    port: u.port !== "" ? Number(u.port) : defaultPort,
    app: kind,
  };
}

export function inClusterStores(p: Platform): InClusterStore[] {
  const out: InClusterStore[] = [];
  const v = p.rag?.stores.vector;
  if (v?.kind === "milvus") {
    const s = parse(v.uri, "milvus", 19530);
    if (s) {
      if (v.storageClass !== undefined) s.storageClass = v.storageClass;
      out.push(s);
    }
  }
  const k = p.rag?.stores.keyword;
  if (k && k.kind !== "sqlite") {
    const s = parse(k.url, k.kind, 9200);
    if (s) {
      if (k.usernameEnv !== undefined) s.usernameEnv = k.usernameEnv;
      if (k.passwordEnv !== undefined) s.passwordEnv = k.passwordEnv;
      if (k.storageClass !== undefined) s.storageClass = k.storageClass;
      out.push(s);
    }
  }
  return out;
}

export function storeObjects(p: Platform, s: InClusterStore): K8sObject[] {
  return s.kind === "milvus" ? milvus(s) : searchCluster(p, s);
}

function milvus(s: InClusterStore): K8sObject[] {
  const app = s.app;
  const labels = componentLabels(app, "vector-store");
  // standalone_embed.sh (milvus-io/milvus scripts): embedded etcd configured by this file.
  const embedEtcd = [
    "listen-client-urls: http://0.0.0.0:2379",
    "advertise-client-urls: http://0.0.0.0:2379",
    "quota-backend-bytes: 4294967296",
    "auto-compaction-mode: revision",
    "auto-compaction-retention: '1000'",
    "",
  ].join("\n");
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${app}-embed-etcd`, labels },
      data: { "embedEtcd.yaml": embedEtcd },
    },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: app, labels },
      spec: {
        serviceName: `${app}-headless`,
        replicas: 1,
        selector: { matchLabels: selectorLabels(app) },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "milvus",
                image: MILVUS_IMAGE,
                command: ["milvus", "run", "standalone"],
                ports: [
                  { name: "grpc", containerPort: 19530, protocol: "TCP" },
                  { name: "metrics", containerPort: 9091, protocol: "TCP" },
                ],
                env: [
                  { name: "ETCD_USE_EMBED", value: "true" },
                  { name: "ETCD_DATA_DIR", value: "/var/lib/milvus/etcd" },
                  { name: "ETCD_CONFIG_PATH", value: "/milvus/configs/embedEtcd.yaml" },
                  { name: "COMMON_STORAGETYPE", value: "local" },
                ],
                resources: { requests: { cpu: "4", memory: "8Gi" }, limits: { cpu: "8", memory: "16Gi" } },
                startupProbe: {
                  httpGet: { path: "/healthz", port: "metrics" },
                  periodSeconds: 10,
                  failureThreshold: 30,
                },
                readinessProbe: { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 10 },
                livenessProbe: {
                  httpGet: { path: "/healthz", port: "metrics" },
                  periodSeconds: 15,
                  failureThreshold: 4,
                },
                volumeMounts: [
                  { name: "milvus-data", mountPath: "/var/lib/milvus" },
                  {
                    name: "embed-etcd",
                    mountPath: "/milvus/configs/embedEtcd.yaml",
                    subPath: "embedEtcd.yaml",
                  },
                ],
              },
            ],
            volumes: [{ name: "embed-etcd", configMap: { name: `${app}-embed-etcd` } }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "milvus-data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "100Gi" } },
              ...(s.storageClass ? { storageClassName: s.storageClass } : {}),
            },
          },
        ],
      },
    },
    headless(app, labels, [{ name: "grpc", port: 19530 }]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: s.service, labels },
      spec: {
        selector: selectorLabels(app),
        ports: [
          { name: "grpc", port: s.port, targetPort: "grpc", protocol: "TCP" },
          { name: "metrics", port: 9091, targetPort: "metrics", protocol: "TCP" },
        ],
      },
    },
    podMonitor(app, labels, "metrics", "/metrics"),
  ];
}

function headless(
  app: string,
  labels: Record<string, string>,
  ports: { name: string; port: number }[],
): K8sObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `${app}-headless`, labels },
    spec: {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: selectorLabels(app),
      ports: ports.map((pt) => ({ name: pt.name, port: pt.port, targetPort: pt.name, protocol: "TCP" })),
    },
  };
}

function podMonitor(app: string, labels: Record<string, string>, port: string, path: string): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: app, labels },
    spec: {
      selector: { matchLabels: selectorLabels(app) },
      podMetricsEndpoints: [{ port, path, interval: "15s" }],
    },
  };
}

function searchCluster(p: Platform, s: InClusterStore): K8sObject[] {
  const app = s.app;
  const labels = componentLabels(app, "keyword-store");
  const replicas = 3;
  const nodes = Array.from({ length: replicas }, (_, i) => `${app}-${i}`);
  const secured = s.passwordEnv !== undefined;
  const es = s.kind === "elasticsearch";
  const env: unknown[] = [
    { name: "cluster.name", value: `${p.metadata.name}-rag` },
    { name: "node.name", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "discovery.seed_hosts", value: nodes.map((n) => `${n}.${app}-headless`).join(",") },
    { name: "cluster.initial_master_nodes", value: nodes.join(",") },
    { name: es ? "ES_JAVA_OPTS" : "OPENSEARCH_JAVA_OPTS", value: "-Xms4g -Xmx4g" },
  ];
  if (es) {
    env.push({ name: "xpack.security.enabled", value: String(secured) });
    if (secured) {
      env.push({
        name: "ELASTIC_PASSWORD",
        valueFrom: { secretKeyRef: { name: secretName(p), key: s.passwordEnv ?? "ELASTIC_PASSWORD" } },
      });
    }
  } else if (!secured) {
    env.push({ name: "DISABLE_SECURITY_PLUGIN", value: "true" });
  }
  const health = es ? "/_cluster/health?local=true" : "/_cluster/health?local=true";
  const probe = secured
    ? { tcpSocket: { port: "http" }, periodSeconds: 10 }
    : { httpGet: { path: health, port: "http" }, periodSeconds: 10 };
  return [
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: app, labels },
      spec: {
        serviceName: `${app}-headless`,
        replicas,
        podManagementPolicy: "Parallel",
        selector: { matchLabels: selectorLabels(app) },
        template: {
          metadata: { labels },
          spec: {
            // The image runs as uid 1000: the data volume must be writable by that group.
            securityContext: { fsGroup: 1000 },
            initContainers: [
              {
                name: "sysctl",
                image: "busybox:1.37",
                command: ["sysctl", "-w", "vm.max_map_count=262144"],
                securityContext: { privileged: true },
              },
            ],
            containers: [
              {
                name: app,
                image: es ? ELASTICSEARCH_IMAGE : OPENSEARCH_IMAGE,
                ports: [
                  { name: "http", containerPort: 9200, protocol: "TCP" },
                  { name: "transport", containerPort: 9300, protocol: "TCP" },
                ],
                env,
                resources: { requests: { cpu: "2", memory: "8Gi" }, limits: { cpu: "4", memory: "8Gi" } },
                readinessProbe: probe,
                volumeMounts: [
                  {
                    name: "data",
                    mountPath: es ? "/usr/share/elasticsearch/data" : "/usr/share/opensearch/data",
                  },
                ],
              },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: {
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "200Gi" } },
              ...(s.storageClass ? { storageClassName: s.storageClass } : {}),
            },
          },
        ],
      },
    },
    headless(app, labels, [
      { name: "http", port: 9200 },
      { name: "transport", port: 9300 },
    ]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: s.service, labels },
      spec: {
        selector: selectorLabels(app),
        ports: [{ name: "http", port: s.port, targetPort: "http", protocol: "TCP" }],
      },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: app, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(app) } },
    },
  ];
}
