/**
 * Per model: the engine Deployment, its headless Service (the gateway resolves the pods through
 * DNS), PodMonitor, PodDisruptionBudget and model-cache PVC. What runs in the engine container
 * (image, command line, environment, weight download) is the engine's own answer
 * (`containerRunFor`, src/engines/<engine>/run.ts); ports, health and metrics paths come from the
 * catalog; resources and placement from the plan. This module adds what every engine shares.
 */
import { type EngineInfo, engineInfo } from "../catalog/engines.js";
import { resolveWeightFormat, type WeightFormat, weightBytes } from "../catalog/kv.js";
import { type ContainerRun, containerRunFor, parseSource, type RunContext } from "../engines/index.js";
import { catalogModelOf, servedModelName } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import { componentLabels, engineName, secretName, selectorLabels } from "./names.js";
import type { ModelPlacement } from "./placement.js";
import type { K8sObject, PlacedObject } from "./types.js";

/** Where the model cache is mounted in every engine container. */
const CACHE_MOUNT = "/models";

/** Whether render deploys an engine for the model (not external, not pointed at existing endpoints). */
export function isDeployed(m: ModelSpec): boolean {
  return containerRunFor(m.engine) !== undefined && m.endpoints.length === 0 && m.discovery === undefined;
}

/** Most replicas a model can reach (autoscaling's ceiling, else its fixed count). */
export function maxReplicas(m: ModelSpec): number {
  return m.autoscaling?.enabled ? m.autoscaling.maxReplicas : m.replicas;
}

export function isAutoscaled(m: ModelSpec): boolean {
  return m.autoscaling?.enabled === true;
}

export function enginePort(m: ModelSpec): number {
  return engineInfo(m.engine, m.engineVersion).defaultPort;
}

/**
 * Seconds the startup probe allows: 120 s for engine start-up and CUDA-graph capture plus the
 * weights read at 250 MB/s from the cache volume (a conservative network-volume rate; an
 * assumption, not a measurement), at least 5 minutes and at most an hour.
 */
export function startupBudgetSeconds(m: ModelSpec): number {
  const cat = catalogModelOf(m);
  if (cat === undefined) return 600;
  const q = m.quantization ?? "none";
  const format = (["awq", "gptq-int4", "gptq-int8", "fp8"].includes(q) ? q : "none") as WeightFormat;
  const bytes = weightBytes(cat, resolveWeightFormat(cat, format));
  return Math.min(3600, Math.max(300, Math.ceil(120 + bytes / 250e6)));
}

function cacheVolume(m: ModelSpec, name: string): { volume: unknown; pvc: K8sObject | null } {
  const src = parseSource(m);
  if (src.scheme === "pvc") {
    const claim = src.rest.split("/")[0] ?? src.rest;
    return {
      volume: { name: "model-cache", persistentVolumeClaim: { claimName: claim, readOnly: true } },
      pvc: null,
    };
  }
  const spec = {
    accessModes: [maxReplicas(m) > 1 ? "ReadWriteMany" : "ReadWriteOnce"],
    resources: { requests: { storage: m.cache.size } },
    ...(m.cache.storageClass ? { storageClassName: m.cache.storageClass } : {}),
  };
  if (maxReplicas(m) > 1) {
    // Several replicas share one downloaded copy: the claim must be ReadWriteMany.
    return {
      volume: { name: "model-cache", persistentVolumeClaim: { claimName: `${name}-cache` } },
      pvc: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: `${name}-cache`, labels: componentLabels(name, "model-cache") },
        spec,
      },
    };
  }
  // One replica: a per-pod ephemeral claim, deleted with the pod.
  return {
    volume: {
      name: "model-cache",
      ephemeral: {
        volumeClaimTemplate: { metadata: { labels: componentLabels(name, "model-cache") }, spec },
      },
    },
    pvc: null,
  };
}

/**
 * Replicas spread over the pool's nodes, at most one apart. A preferred anti-affinity is only a
 * score the scheduler may outweigh (a real scheduler put 3 of 4 TP-2 replicas on one node), so
 * whole-GPU replicas get a hard constraint — the planner packs them the same way, so `plan`
 * says where each lands. Replicas on MIG instances or GPU shares go where their slices are
 * (the plan may put several on one node), so for them the spread is a preference.
 */
function spreadConstraint(name: string, place: ModelPlacement): Record<string, unknown> {
  const whole = place.gpu !== null && place.gpu.resource === "nvidia.com/gpu" && !place.shared;
  return {
    maxSkew: 1,
    topologyKey: "kubernetes.io/hostname",
    whenUnsatisfiable: whole ? "DoNotSchedule" : "ScheduleAnyway",
    labelSelector: { matchLabels: selectorLabels(name) },
  };
}

/** What the engine runs, asked from the engine with the plan's numbers. */
function engineRun(p: Platform, m: ModelSpec, place: ModelPlacement, port: number): ContainerRun {
  const run = containerRunFor(m.engine);
  if (run === undefined) throw new Error(`engine ${m.engine} is not deployed`);
  const ctx: RunContext = {
    cacheMount: CACHE_MOUNT,
    port,
    gpu: place.gpu !== null,
    servedName: servedModelName(m),
    tensorParallel: place.tensorParallel,
    gpuMemoryUtilization: place.gpuMemoryUtilization,
    maxModelLen: place.maxModelLen,
    secretName: secretName(p),
  };
  return run(m, ctx);
}

type ContainerPort = { name: string; containerPort: number; protocol: string };

/** The API port, and the metrics port where the engine serves metrics on another (Triton). */
function enginePorts(info: EngineInfo): ContainerPort[] {
  const ports = [{ name: "http", containerPort: info.defaultPort, protocol: "TCP" }];
  if (info.metricsPort !== info.defaultPort)
    ports.push({ name: "metrics", containerPort: info.metricsPort, protocol: "TCP" });
  return ports;
}

/** The engine container: the engine's run, with the probes, resources and mounts every engine gets. */
function engineContainer(
  m: ModelSpec,
  info: EngineInfo,
  run: ContainerRun,
  place: ModelPlacement,
): Record<string, unknown> {
  const health = info.healthPath ?? "/";
  const ready = info.readinessPath ?? health;
  const startupPeriod = 10;
  const gpuLimits = place.gpu ? { [place.gpu.resource]: String(place.gpu.count) } : {};
  return {
    name: "engine",
    image: run.image,
    ...(run.command ? { command: run.command } : {}),
    ...(run.args.length > 0 ? { args: run.args } : {}),
    ports: enginePorts(info),
    env: run.env,
    resources: {
      requests: { cpu: m.resources.cpu, memory: m.resources.memory, ...gpuLimits },
      limits: { memory: m.resources.memory, ...gpuLimits },
    },
    startupProbe: {
      httpGet: { path: health, port: "http" },
      periodSeconds: startupPeriod,
      failureThreshold: Math.ceil(startupBudgetSeconds(m) / startupPeriod),
    },
    readinessProbe: { httpGet: { path: ready, port: "http" }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: health, port: "http" }, periodSeconds: 10, failureThreshold: 6 },
    // Let the gateway's DNS discovery drop the pod before the engine stops taking requests.
    lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 10"] } } },
    volumeMounts: [
      { name: "model-cache", mountPath: CACHE_MOUNT },
      { name: "shm", mountPath: "/dev/shm" },
    ],
  };
}

function engineDeployment(
  m: ModelSpec,
  place: ModelPlacement,
  run: ContainerRun,
  container: Record<string, unknown>,
  volume: unknown,
): K8sObject {
  const name = engineName(m);
  const labels = componentLabels(name, "engine", { "inferplane.dev/model": m.name });
  const pod: Record<string, unknown> = {
    terminationGracePeriodSeconds: 60,
    ...(Object.keys(place.nodeSelector).length > 0 ? { nodeSelector: place.nodeSelector } : {}),
    ...(place.tolerations.length > 0 ? { tolerations: place.tolerations } : {}),
    topologySpreadConstraints: [spreadConstraint(name, place)],
    ...(run.initContainers.length > 0 ? { initContainers: run.initContainers } : {}),
    containers: [container],
    volumes: [volume, { name: "shm", emptyDir: { medium: "Memory", sizeLimit: m.shmSize } }],
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      // Always set: without an autoscaler (or before KEDA first acts) the Deployment would run
      // one pod. The ArgoCD Application ignores /spec/replicas where an autoscaler owns it.
      replicas: m.replicas,
      selector: { matchLabels: selectorLabels(name) },
      // GPUs are scarce: replace pods one at a time instead of surging an extra GPU pod.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: { metadata: { labels }, spec: pod },
    },
  };
}

/** Headless Service (DNS returns every ready pod; the gateway balances itself) and the PDB. */
function engineService(m: ModelSpec, info: EngineInfo): K8sObject[] {
  const name = engineName(m);
  const labels = componentLabels(name, "engine", { "inferplane.dev/model": m.name });
  const service: K8sObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, labels },
    spec: {
      clusterIP: "None",
      selector: selectorLabels(name),
      ports: enginePorts(info).map((pt) => ({
        name: pt.name,
        port: pt.containerPort,
        targetPort: pt.name,
        protocol: "TCP",
      })),
    },
  };
  const pdb: K8sObject = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(name) } },
  };
  return [service, pdb];
}

function podMonitor(m: ModelSpec, info: EngineInfo, metricsPath: string): K8sObject {
  const name = engineName(m);
  const labels = componentLabels(name, "engine", { "inferplane.dev/model": m.name });
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name, labels },
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      podMetricsEndpoints: [
        {
          port: info.metricsPort !== info.defaultPort ? "metrics" : "http",
          path: metricsPath,
          interval: "15s",
        },
      ],
    },
  };
}

/** Objects of one deployed model. */
export function engineObjects(p: Platform, m: ModelSpec, place: ModelPlacement): PlacedObject[] {
  const name = engineName(m);
  const info = engineInfo(m.engine, m.engineVersion);
  const run = engineRun(p, m, place, info.defaultPort);
  const { volume, pvc } = cacheVolume(m, name);
  const deployment = engineDeployment(m, place, run, engineContainer(m, info, run, place), volume);
  const [service, pdb] = engineService(m, info) as [K8sObject, K8sObject];
  const out: PlacedObject[] = [
    { file: `engines/${name}/deployment.yaml`, object: deployment },
    { file: `engines/${name}/service.yaml`, object: service },
    { file: `engines/${name}/pdb.yaml`, object: pdb },
  ];
  if (pvc) out.push({ file: `engines/${name}/pvc.yaml`, object: pvc });
  if (info.metricsPath !== null && p.observability.metrics.enabled)
    out.push({ file: `engines/${name}/podmonitor.yaml`, object: podMonitor(m, info, info.metricsPath) });
  return out;
}
