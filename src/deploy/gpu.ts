/**
 * GPU Operator objects for the cluster (one set per cluster, not per environment): the
 * HelmChart with its values, the mig-parted ConfigMap (key `config.yaml`, geometries from the
 * plan), the device-plugin ConfigMap for time slicing / MPS, and the node labels to apply.
 *
 * Values follow the gpu-operator chart (REFERENCE: `mig.strategy` defaults to single; the
 * mig-manager's default config is `all-disabled`, so the ConfigMap carries that key too).
 */
import type { MigPartedConfig } from "../planner/index.js";
import type { Platform } from "../spec/schema.js";
import { GPU_OPERATOR_NAMESPACE } from "./names.js";
import { type GpuConfig, migStrategy } from "./placement.js";
import type { K8sObject } from "./types.js";
import { toYaml } from "./yaml.js";

/**
 * Pinned, so a re-sync never upgrades the operator or the driver under running GPUs: chart
 * v25.3.4 (NVIDIA/gpu-operator stable/index.yaml) and its default data-center driver 580.82.07
 * (GPU Operator 25.3.4 release notes, NVIDIA/cloud-native-docs).
 */
export const GPU_OPERATOR_CHART_VERSION = "v25.3.4";
export const GPU_DRIVER_VERSION = "580.82.07";

export const MIG_CONFIGMAP = "inferplane-mig-parted";
export const DEVICE_PLUGIN_CONFIGMAP = "inferplane-device-plugin";
export const MIG_DEFAULT = "all-disabled";
export const DEVICE_PLUGIN_DEFAULT = "exclusive";

export function usesGpus(p: Platform): boolean {
  return p.gpus.length > 0;
}

function sharedPools(p: Platform) {
  return p.gpus.filter((g) => g.sharing.mode === "time-slicing" || g.sharing.mode === "mps");
}

export function gpuOperatorValues(p: Platform): Record<string, unknown> {
  const strategy = migStrategy(p);
  const shared = sharedPools(p).length > 0;
  return {
    driver: { enabled: true, version: GPU_DRIVER_VERSION },
    toolkit: { enabled: true },
    ...(strategy !== null ? { mig: { strategy } } : {}),
    migManager: {
      enabled: strategy !== null,
      ...(strategy !== null ? { config: { name: MIG_CONFIGMAP, default: MIG_DEFAULT } } : {}),
    },
    devicePlugin: {
      enabled: true,
      ...(shared ? { config: { name: DEVICE_PLUGIN_CONFIGMAP, default: DEVICE_PLUGIN_DEFAULT } } : {}),
    },
    dcgmExporter: { enabled: true, serviceMonitor: { enabled: true } },
  };
}

/** mig-parted's config file (`version: v1`, `mig-configs`). */
export function migPartedYaml(configs: readonly MigPartedConfig[]): string {
  const migConfigs: Record<string, unknown> = {
    [MIG_DEFAULT]: [{ devices: "all", "mig-enabled": false }],
  };
  for (const c of configs) {
    migConfigs[c.name] = c.devices.map((d) => ({
      devices: d.devices,
      "mig-enabled": d.migEnabled,
      ...(d.migEnabled ? { "mig-devices": d.migDevices } : {}),
    }));
  }
  return toYaml({ version: "v1", "mig-configs": migConfigs });
}

/** k8s-device-plugin configs: one key per shared pool, plus the exclusive default. */
export function devicePluginData(p: Platform): Record<string, string> {
  const data: Record<string, string> = { [DEVICE_PLUGIN_DEFAULT]: toYaml({ version: "v1" }) };
  for (const pool of sharedPools(p)) {
    const resources = [{ name: "nvidia.com/gpu", replicas: pool.sharing.replicas ?? 2 }];
    const sharing =
      pool.sharing.mode === "mps"
        ? { mps: { resources } }
        : { timeSlicing: { renameByDefault: false, failRequestsGreaterThanOne: true, resources } };
    data[pool.name] = toYaml({ version: "v1", sharing });
  }
  return data;
}

export function gpuObjects(p: Platform, cfg: GpuConfig): { file: string; object: K8sObject }[] {
  const ns = GPU_OPERATOR_NAMESPACE;
  const out: { file: string; object: K8sObject }[] = [
    { file: "namespace.yaml", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } },
    {
      file: "helmchart.yaml",
      object: {
        apiVersion: "helm.cattle.io/v1",
        kind: "HelmChart",
        metadata: { name: "gpu-operator", namespace: ns },
        spec: {
          repo: "https://helm.ngc.nvidia.com/nvidia",
          chart: "gpu-operator",
          version: GPU_OPERATOR_CHART_VERSION,
          targetNamespace: ns,
          valuesContent: toYaml(gpuOperatorValues(p)),
        },
      },
    },
  ];
  if (migStrategy(p) !== null) {
    out.push({
      file: "mig-parted.yaml",
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: MIG_CONFIGMAP, namespace: ns },
        data: { "config.yaml": migPartedYaml(cfg.migConfigs) },
      },
    });
  }
  if (sharedPools(p).length > 0) {
    out.push({
      file: "device-plugin.yaml",
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: DEVICE_PLUGIN_CONFIGMAP, namespace: ns },
        data: devicePluginData(p),
      },
    });
  }
  return out;
}

/** The node labels file: which nodes need which labels, with the kubectl commands. */
export function nodeLabelsFile(cfg: GpuConfig): string {
  const lines = [
    "# Labels the GPU nodes need for this plan. Not a Kubernetes object: apply with, per node,",
    "#   kubectl label node <node> <key>=<value> --overwrite",
    "# The mig-manager repartitions a node when nvidia.com/mig.config changes and reports",
    "# nvidia.com/mig.config.state (pending, success, failed).",
  ];
  const body = cfg.nodeLabels.map((n) => ({
    pool: n.pool,
    plannedNodes: n.nodes,
    selector: n.selector,
    labels: n.labels,
  }));
  return `${lines.join("\n")}\n${toYaml({ nodeGroups: body })}`;
}
