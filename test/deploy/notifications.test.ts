// ArgoCD notifications: the argocd-notifications-cm ConfigMap (Slack service with the token as a
// Secret reference, triggers and templates) synced by the app-of-apps, and the subscription
// annotation on every Application.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import type { K8sObject } from "../../src/deploy/types.js";
import { validateObject } from "../../src/deploy/validate.js";
import { isInferplaneError } from "../../src/errors.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const cmOf = (objs: { file: string; object: K8sObject }[]) =>
  objs.find((o) => o.object.kind === "ConfigMap" && o.object.metadata.name === "argocd-notifications-cm");

describe("gitops.notifications", () => {
  it("renders argocd-notifications-cm beside the Applications, the token a reference to argocd-notifications-secret", () => {
    const r = renderExample();
    const cm = cmOf(r.objects);
    assert.ok(cm);
    assert.equal(cm.file, "argocd/apps/notifications.yaml", "synced by the app-of-apps");
    assert.equal(cm.object.metadata.namespace, "argocd");
    assert.deepEqual(validateObject(cm.object), []);
    const data = (cm.object as Plain).data as Record<string, string>;
    assert.deepEqual(Object.keys(data).sort(), [
      "service.slack",
      "template.app-sync-failed",
      "trigger.on-sync-failed",
    ]);
    assert.deepEqual(parse(data["service.slack"] ?? ""), { token: "$slack-token" });
    const trigger = parse(data["trigger.on-sync-failed"] ?? "");
    assert.deepEqual(trigger[0].send, ["app-sync-failed"]);
    assert.match(trigger[0].when, /operationState\.phase in \['Error', 'Failed'\]/);
    const template = parse(data["template.app-sync-failed"] ?? "");
    assert.match(template.message, /\{\{\.app\.metadata\.name\}\}.*failed/);
    const attachments = JSON.parse(template.slack.attachments);
    assert.equal(attachments[0].title, "{{.app.metadata.name}}");
  });

  it("every Application subscribes to each trigger on the channel; the app-of-apps carries none", () => {
    const apps = renderExample()
      .objects.filter((o) => o.object.kind === "Application")
      .map((o) => o.object);
    assert.ok(apps.length >= 4);
    for (const a of apps) {
      const ann = a.metadata.annotations ?? {};
      if (a.metadata.name.endsWith("-apps")) assert.deepEqual(ann, {});
      else
        assert.deepEqual(
          ann,
          { "notifications.argoproj.io/subscribe.on-sync-failed.slack": "ai-platform-deploys" },
          a.metadata.name,
        );
      assert.deepEqual(validateObject(a), [], a.metadata.name);
    }
  });

  it("more triggers add their templates; without notifications nothing is rendered", () => {
    const r = render(
      exampleWith("    triggers: [on-sync-failed]", "    triggers: [on-sync-failed, on-health-degraded]"),
    );
    const cm = cmOf(r.objects);
    assert.ok(cm);
    const data = (cm.object as Plain).data as Record<string, string>;
    assert.ok(data["trigger.on-health-degraded"] && data["template.app-health-degraded"]);
    const app = r.objects.find(
      (o) => o.object.kind === "Application" && !o.object.metadata.name.endsWith("-apps"),
    );
    assert.equal(
      app?.object.metadata.annotations?.["notifications.argoproj.io/subscribe.on-health-degraded.slack"],
      "ai-platform-deploys",
    );
    const none = render(exampleWith(/ {2}# Sync failures[\s\S]*$/, ""));
    assert.equal(cmOf(none.objects), undefined);
    assert.ok(
      none.objects
        .filter((o) => o.object.kind === "Application")
        .every((o) => !o.object.metadata.annotations),
    );
  });

  it("refuses a Slack token written where the key name goes, without echoing it", () => {
    const token = "xoxb-1234-5678-abcdefghijkl";
    assert.throws(
      () => render(exampleWith("      tokenKey: slack-token", `      tokenKey: ${token}`)),
      (e: unknown) =>
        isInferplaneError(e) &&
        e.problems.some(
          (p) => p.path === "gitops.notifications.slack.tokenKey" && /Slack token/.test(p.message),
        ) &&
        !JSON.stringify(e).includes(token) &&
        !e.message.includes(token),
    );
  });
});
