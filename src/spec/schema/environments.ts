/** Environment overrides and GitOps delivery. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { dnsLabel } from "../units.js";

// ---------------------------------------------------------------- environments, gitops
export const Environment = z
  .strictObject({
    namespace: dnsLabel("Namespace of this environment (default: <metadata.namespace>-<env>).").optional(),
    overrides: z
      .record(z.string(), z.unknown())
      .prefault({})
      .describe(
        "A partial spec merged over the base before validation: maps merge key by key, lists of named items (models, gpus, routes) merge by `name`, other lists and scalars replace, `null` removes, a map with a different `kind` replaces.",
      ),
  })
  .describe("An environment (a Kustomize overlay).");

export const Gitops = z
  .strictObject({
    repoURL: z.string().min(1).describe("Git repository ArgoCD syncs from."),
    targetRevision: z.string().default("main").describe("Branch, tag or commit."),
    path: z.string().default("deploy").describe("Directory of the rendered Kustomize tree in the repo."),
    project: z.string().default("default").describe("ArgoCD project."),
    argocdNamespace: z.string().default("argocd").describe("Namespace ArgoCD runs in."),
    destinationServer: z.string().default("https://kubernetes.default.svc").describe("Target cluster API."),
    automated: z
      .strictObject({
        prune: z.boolean().default(true).describe("Delete what left Git."),
        selfHeal: z.boolean().default(true).describe("Revert drift."),
      })
      .prefault({})
      .describe("Automated sync."),
    notifications: z
      .strictObject({
        slack: z
          .strictObject({
            channel: z.string().min(1).describe("Slack channel the messages go to."),
            tokenKey: z
              .string()
              .regex(/^[-._a-zA-Z0-9]+$/, "a Secret key name")
              .default("slack-token")
              .describe(
                "Key of the bot token in the `argocd-notifications-secret` Secret (never the token).",
              ),
          })
          .describe("Slack service."),
        triggers: z
          .array(z.enum(["on-sync-failed", "on-health-degraded", "on-sync-succeeded"]))
          .min(1)
          .default(["on-sync-failed"])
          .describe("ArgoCD notification triggers every Application subscribes to."),
      })
      .optional()
      .describe("ArgoCD notifications (argocd-notifications-cm) for the rendered Applications."),
  })
  .describe("GitOps delivery with ArgoCD.");
