/**
 * The `inferplane.yaml` schema: one zod object per section of the spec, each in its own module
 * under `schema/` (models and GPU pools, routes, gateway, RAG, observability, environments and
 * GitOps; enums and field helpers in `schema/enums.ts`), assembled here into the platform. A doc
 * string per field (exported as JSON Schema `description`), defaults where a sensible one exists.
 * Cross-references (a route naming a model, a model naming a GPU pool, MIG profiles against
 * the catalog) are checked in `checks.ts`, after the shape is known to be right.
 */
import { z } from "zod";
import { API_VERSION, KIND } from "./schema/enums.js";
import { Environment, Gitops } from "./schema/environments.js";
import { Gateway } from "./schema/gateway.js";
import { GpuPool as GpuPoolShape, Metadata, Model } from "./schema/models.js";
import { Observability } from "./schema/observability.js";
import { Rag } from "./schema/rag.js";
import { Route } from "./schema/routes.js";
import { dnsLabel } from "./units.js";

export {
  API_VERSION,
  BALANCERS,
  ENGINES,
  KIND,
  MODEL_KINDS,
  OTLP_PROTOCOLS,
  QUANTIZATIONS,
  SAMPLERS,
  SCALING_METRICS,
  SHARING_MODES,
  SPECULATIVE_METHODS,
} from "./schema/enums.js";

// ---------------------------------------------------------------- platform
export const PlatformShape = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe("Spec version."),
    kind: z.literal(KIND).describe("Always `Platform`."),
    metadata: Metadata,
    gpus: z.array(GpuPoolShape).default([]).describe("GPU inventory: node pools."),
    models: z.array(Model).min(1).describe("Served models."),
    routes: z
      .array(Route)
      .default([])
      .describe("Public model names; when empty, every model is served under its own name."),
    gateway: Gateway.prefault({}),
    autoscaling: z
      .strictObject({
        vpa: z
          .strictObject({
            workloads: z
              .array(z.enum(["gateway"]))
              .min(1)
              .default(["gateway"])
              .describe(
                "CPU workloads given a VerticalPodAutoscaler (the gateway also serves RAG); never GPU engines.",
              ),
            updateMode: z
              .enum(["Off", "Initial", "Recreate", "InPlaceOrRecreate"])
              .default("Initial")
              .describe("How the VPA applies its recommendations (`Off`: recommend only)."),
            controlledResources: z
              .array(z.enum(["cpu", "memory"]))
              .min(1)
              .default(["memory"])
              .describe("Resources the VPA sets; never one an HPA scales the same workload on."),
          })
          .optional()
          .describe("Vertical Pod Autoscaler for CPU workloads."),
      })
      .prefault({})
      .describe("Platform-wide autoscaling beside each model's own."),
    rag: Rag.optional(),
    observability: Observability.prefault({}),
    environments: z
      .record(dnsLabel("Environment name."), Environment)
      .prefault({})
      .describe("dev / staging / production overrides."),
    gitops: Gitops.optional(),
  })
  .describe(
    "An Inferplane platform: GPUs, models, routes, gateway, RAG, observability, environments, GitOps.",
  );

export type PlatformInput = z.input<typeof PlatformShape>;
export type Platform = z.output<typeof PlatformShape>;
export type GpuPool = Platform["gpus"][number];
export type ModelSpec = Platform["models"][number];
export type RouteSpec = Platform["routes"][number];
export type GatewaySpec = Platform["gateway"];
export type RagSpec = NonNullable<Platform["rag"]>;
export type ObservabilitySpec = Platform["observability"];
export type EnvironmentSpec = Platform["environments"][string];
