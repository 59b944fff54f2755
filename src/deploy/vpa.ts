/**
 * Vertical Pod Autoscalers for the CPU workloads (the gateway, which also serves RAG):
 * autoscaling.k8s.io/v1 VerticalPodAutoscaler (kubernetes/autoscaler
 * vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1/types.go). Never on a GPU engine (its
 * requests are fixed by the plan: a GPU, its memory share, its shm), and never on a resource an
 * HPA scales the same Deployment on — spec validation refuses that (spec/checks-deploy.ts) and
 * lint's `vpa-hpa-same-resource` flags it in any manifests.
 */
import type { Platform } from "../spec/schema.js";
import { componentLabels, GATEWAY_NAME } from "./names.js";
import type { PlacedObject } from "./types.js";

/** The VPA's workloads: Deployment and container names. */
const WORKLOADS = { gateway: { name: GATEWAY_NAME, container: "gateway", component: "gateway" } } as const;

export function vpaObjects(p: Platform): PlacedObject[] {
  const vpa = p.autoscaling.vpa;
  if (!vpa) return [];
  return vpa.workloads.map((w) => {
    const t = WORKLOADS[w];
    return {
      file: `${w}/vpa.yaml`,
      object: {
        apiVersion: "autoscaling.k8s.io/v1",
        kind: "VerticalPodAutoscaler",
        metadata: { name: t.name, labels: componentLabels(t.name, t.component) },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: t.name },
          updatePolicy: { updateMode: vpa.updateMode },
          resourcePolicy: {
            containerPolicies: [
              {
                containerName: t.container,
                controlledResources: [...vpa.controlledResources],
                controlledValues: "RequestsAndLimits",
              },
            ],
          },
        },
      },
    };
  });
}
