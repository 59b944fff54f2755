/**
 * GPU observability for the cluster (beside the GPU Operator, one set per cluster): the DCGM
 * exporter the operator runs (`dcgmExporter.enabled` with its ServiceMonitor, gpu.ts) feeds a
 * GPU dashboard and GPU alerts.
 *
 * Metric names and units are dcgm-exporter's default counters (NVIDIA/dcgm-exporter
 * etc/default-counters.csv): DCGM_FI_DEV_GPU_UTIL (gauge, %), DCGM_FI_DEV_FB_USED and
 * DCGM_FI_DEV_FB_FREE (gauges, MiB), DCGM_FI_DEV_GPU_TEMP (gauge, °C), DCGM_FI_DEV_POWER_USAGE
 * (gauge, W), DCGM_FI_DEV_XID_ERRORS (gauge: the value of the last XID error, 0 when none).
 * Every series carries `gpu`, `UUID`, `modelName` and `Hostname` (the node).
 */
import type { Platform } from "../spec/schema.js";
import { type AlertDef, dashboard, ruleGroups } from "./monitoring.js";
import { GPU_OPERATOR_NAMESPACE } from "./names.js";
import type { K8sObject, PlacedObject } from "./types.js";

const GROUP = "inferplane-gpus";
const RI = "$__rate_interval";
const BY = "Hostname, gpu";
const LABELS = `Hostname="gpu-node-1",gpu="0",UUID="GPU-0",modelName="NVIDIA A100-SXM4-80GB"`;

export function gpuObservabilityEnabled(p: Platform): boolean {
  return p.gpus.length > 0 && p.observability.gpu.enabled;
}

export function gpuAlertDefs(p: Platform): AlertDef[] {
  const g = p.observability.gpu;
  const s = (name: string, values: string) => ({ series: `${name}{${LABELS}}`, values });
  const at = { Hostname: "gpu-node-1", gpu: "0" };
  return [
    {
      group: GROUP,
      alert: "InferplaneGpuTemperatureHigh",
      expr: `max by (${BY}) (DCGM_FI_DEV_GPU_TEMP) > ${g.temperature}`,
      for: "5m",
      severity: "warning",
      summary: "GPU running hot",
      description: `GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has been above ${g.temperature}°C for 5 minutes; it will throttle.`,
      test: {
        series: [s("DCGM_FI_DEV_GPU_TEMP", `${g.temperature + 5}x15`)],
        evalTime: "10m",
        labels: at,
        quiet: [{ series: [s("DCGM_FI_DEV_GPU_TEMP", `${g.temperature - 20}x15`)], evalTime: "10m" }],
      },
    },
    {
      group: GROUP,
      alert: "InferplaneGpuMemoryFull",
      expr: `max by (${BY}) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)) > ${g.memoryUsage}`,
      for: "10m",
      severity: "warning",
      summary: "GPU framebuffer memory nearly full",
      description: `GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has used more than ${Math.round(g.memoryUsage * 100)}% of its memory for 10 minutes.`,
      test: {
        // 80 GiB in MiB: 81920.
        series: [s("DCGM_FI_DEV_FB_USED", "81500x20"), s("DCGM_FI_DEV_FB_FREE", "420x20")],
        evalTime: "15m",
        labels: at,
        quiet: [
          {
            // vLLM at gpu_memory_utilization 0.9 holds ~90% from start: below the alert.
            series: [s("DCGM_FI_DEV_FB_USED", "73728x20"), s("DCGM_FI_DEV_FB_FREE", "8192x20")],
            evalTime: "15m",
          },
        ],
      },
    },
    {
      group: GROUP,
      alert: "InferplaneGpuXidError",
      expr: `max by (${BY}) (DCGM_FI_DEV_XID_ERRORS) > 0`,
      for: "0m",
      severity: "critical",
      summary: "GPU reported an XID error",
      description:
        "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported an XID error (the metric's value is its XID code): check the node's kernel log; 48, 63, 64, 74, 79 and 94/95 usually need a drain and reset.",
      test: {
        series: [s("DCGM_FI_DEV_XID_ERRORS", "0 0 0 79 79 79 79")],
        evalTime: "5m",
        labels: at,
        quiet: [{ series: [s("DCGM_FI_DEV_XID_ERRORS", "0x10")], evalTime: "5m" }],
      },
    },
    {
      group: GROUP,
      alert: "InferplaneGpuMetricsMissing",
      expr: "absent(DCGM_FI_DEV_GPU_UTIL)",
      for: "15m",
      severity: "warning",
      summary: "No DCGM GPU metrics: GPU health is unwatched",
      description:
        "No DCGM_FI_DEV_GPU_UTIL series for 15 minutes: the GPU Operator's dcgm-exporter or its ServiceMonitor is not running.",
      test: {
        series: [{ series: `up{job="j",instance="i"}`, values: "1x25" }],
        evalTime: "20m",
        labels: {},
        quiet: [{ series: [s("DCGM_FI_DEV_GPU_UTIL", "50x25")], evalTime: "20m" }],
      },
    },
  ];
}

export function gpuDashboard(): Record<string, unknown> {
  const by = `{{Hostname}} gpu {{gpu}}`;
  return dashboard("inferplane-gpus", "Inferplane / GPUs", [
    {
      title: "GPU utilisation",
      type: "timeseries",
      unit: "percent",
      max: 100,
      exprs: [{ expr: `avg by (${BY}) (DCGM_FI_DEV_GPU_UTIL)`, legend: by }],
    },
    {
      title: "Framebuffer memory used",
      type: "timeseries",
      unit: "percentunit",
      max: 1,
      exprs: [
        {
          expr: `max by (${BY}) (DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE))`,
          legend: by,
        },
      ],
    },
    {
      title: "Temperature",
      type: "timeseries",
      unit: "celsius",
      exprs: [{ expr: `max by (${BY}) (DCGM_FI_DEV_GPU_TEMP)`, legend: by }],
    },
    {
      title: "Power draw",
      type: "timeseries",
      unit: "watt",
      exprs: [{ expr: `sum by (${BY}) (DCGM_FI_DEV_POWER_USAGE)`, legend: by }],
    },
    {
      title: "XID errors (last code)",
      type: "stat",
      unit: "none",
      exprs: [{ expr: `max by (${BY}) (max_over_time(DCGM_FI_DEV_XID_ERRORS[${RI}]))`, legend: by }],
    },
    {
      title: "Memory used (MiB)",
      type: "timeseries",
      unit: "decmbytes",
      exprs: [{ expr: `sum by (${BY}) (DCGM_FI_DEV_FB_USED)`, legend: by }],
    },
  ]);
}

/** The GPU PrometheusRule and dashboard ConfigMap, in the GPU Operator's namespace. */
export function gpuObservabilityObjects(p: Platform): PlacedObject[] {
  if (!gpuObservabilityEnabled(p)) return [];
  const ns = GPU_OPERATOR_NAMESPACE;
  const labels = { "app.kubernetes.io/component": "monitoring" };
  const out: PlacedObject[] = [];
  if (p.observability.alerts.enabled) {
    const rule: K8sObject = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: "inferplane-gpu-alerts", namespace: ns, labels },
      spec: { groups: ruleGroups(gpuAlertDefs(p)) },
    };
    out.push({ file: "prometheusrule.yaml", object: rule });
  }
  if (p.observability.dashboards.grafana) {
    out.push({
      file: "dashboard.yaml",
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "inferplane-dashboard-gpus",
          namespace: ns,
          labels: { ...labels, grafana_dashboard: "1" },
        },
        data: { "inferplane-gpus.json": `${JSON.stringify(gpuDashboard(), null, 2)}\n` },
      },
    });
  }
  return out;
}
