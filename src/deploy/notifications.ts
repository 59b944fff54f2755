/**
 * ArgoCD notifications (argo-cd docs operator-manual/notifications): the `argocd-notifications-cm`
 * ConfigMap with the Slack service, the triggers and their templates (conditions and messages as
 * the notifications catalog ships them, notifications_catalog/triggers and templates), and the
 * `notifications.argoproj.io/subscribe.<trigger>.slack: <channel>` annotation on every
 * Application. The Slack token is `$<key>`: a key of the `argocd-notifications-secret` Secret,
 * which the operator creates; the rendered tree never holds it.
 */
import type { Platform } from "../spec/schema.js";
import type { K8sObject, PlacedObject } from "./types.js";
import { toYaml } from "./yaml.js";

type Gitops = NonNullable<Platform["gitops"]>;
type Trigger = NonNullable<Gitops["notifications"]>["triggers"][number];

const APP = "{{.app.metadata.name}}";
const CATALOG: Record<
  Trigger,
  { template: string; description: string; when: string; message: string; color: string }
> = {
  "on-sync-failed": {
    template: "app-sync-failed",
    description: "Application syncing has failed",
    when: "app.status.operationState != nil and app.status.operationState.phase in ['Error', 'Failed']",
    message: `The sync operation of application ${APP} has failed at {{.app.status.operationState.finishedAt}} with the following error: {{.app.status.operationState.message}}`,
    color: "#E96D76",
  },
  "on-health-degraded": {
    template: "app-health-degraded",
    description: "Application has degraded",
    when: "app.status.health.status == 'Degraded'",
    message: `Application ${APP} has degraded.`,
    color: "#f4c030",
  },
  "on-sync-succeeded": {
    template: "app-sync-succeeded",
    description: "Application syncing has succeeded",
    when: "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded']",
    message: `Application ${APP} has been successfully synced at {{.app.status.operationState.finishedAt}}.`,
    color: "#18be52",
  },
};

export const NOTIFICATIONS_CONFIGMAP = "argocd-notifications-cm";

/** The subscription annotations every Application carries. */
export function notificationAnnotations(g: Gitops): Record<string, string> {
  const n = g.notifications;
  if (!n) return {};
  return Object.fromEntries(
    n.triggers.map((t) => [`notifications.argoproj.io/subscribe.${t}.slack`, n.slack.channel]),
  );
}

export function notificationObjects(g: Gitops): PlacedObject[] {
  const n = g.notifications;
  if (!n) return [];
  const data: Record<string, string> = { "service.slack": toYaml({ token: `$${n.slack.tokenKey}` }) };
  for (const t of n.triggers) {
    const c = CATALOG[t];
    data[`trigger.${t}`] = toYaml([{ description: c.description, send: [c.template], when: c.when }]);
    data[`template.${c.template}`] = toYaml({
      message: c.message,
      slack: {
        attachments: JSON.stringify([
          {
            title: APP,
            title_link: "{{.context.argocdUrl}}/applications/{{.app.metadata.name}}",
            color: c.color,
            fields: [
              { title: "Sync Status", value: "{{.app.status.sync.status}}", short: true },
              { title: "Repository", value: "{{.app.spec.source.repoURL}}", short: true },
            ],
          },
        ]),
      },
    });
  }
  const cm: K8sObject = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: NOTIFICATIONS_CONFIGMAP,
      namespace: g.argocdNamespace,
      labels: { "app.kubernetes.io/name": NOTIFICATIONS_CONFIGMAP, "app.kubernetes.io/part-of": "argocd" },
    },
    data,
  };
  return [{ file: "notifications.yaml", object: cm }];
}
