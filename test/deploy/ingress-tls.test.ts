// The gateway Ingress's host and TLS: the guide's host rule and tls section, cert-manager's
// ingress-shim annotations, or a Certificate (and an ACME Issuer) when asked; bad combinations
// refused at validation with the field's path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { K8sObject } from "../../src/deploy/types.js";
import { validateObject } from "../../src/deploy/validate.js";
import { isInferplaneError } from "../../src/errors.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const TLS_BLOCK = `  ingress:
    host: ai-api.example.com
    tls:
      secretName: ai-api-tls
      issuer: letsencrypt-prod
      issuerKind: Issuer
      certificate: true
      acme:
        email: platform@example.com
`;
const SHIM =
  "      issuerKind: Issuer\n      certificate: true\n      acme:\n        email: platform@example.com\n";
/** The example with cert-manager's ingress-shim (annotation) instead of a Certificate. */
const shim = (extra = "") => exampleWith(SHIM, extra);

function ingressOf(objs: { object: K8sObject }[]): Plain {
  const i = objs.find((o) => o.object.kind === "Ingress")?.object;
  assert.ok(i, "an Ingress");
  return i as Plain;
}

function refused(text: string, pattern: RegExp) {
  assert.throws(
    () => render(text),
    (e: unknown) =>
      isInferplaneError(e) && pattern.test(e.problems.map((p) => `${p.path}: ${p.message}`).join("\n")),
  );
}

describe("gateway ingress: host and TLS", () => {
  it("the example's Ingress answers the guide's host over TLS; cert-manager issues the Secret from its ACME Issuer", () => {
    const objs = renderExample().base.objects;
    const ing = ingressOf(objs);
    assert.deepEqual(ing.spec.tls, [{ hosts: ["ai-api.example.com"], secretName: "ai-api-tls" }]);
    assert.equal(ing.spec.rules[0].host, "ai-api.example.com");
    assert.equal(ing.spec.ingressClassName, "nginx");
    // The streaming annotations stay; a Certificate replaces ingress-shim's annotation.
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-buffering"], "off");
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
    const plain = objs.map((o) => o.object as Plain);
    const cert = plain.find((o) => o.kind === "Certificate");
    const issuer = plain.find((o) => o.kind === "Issuer");
    assert.ok(cert && issuer);
    assert.equal(cert.apiVersion, "cert-manager.io/v1");
    assert.deepEqual(cert.spec, {
      secretName: "ai-api-tls",
      dnsNames: ["ai-api.example.com"],
      issuerRef: { name: "letsencrypt-prod", kind: "Issuer", group: "cert-manager.io" },
    });
    assert.equal(issuer.metadata.name, "letsencrypt-prod");
    assert.equal(issuer.spec.acme.server, "https://acme-v02.api.letsencrypt.org/directory");
    assert.equal(issuer.spec.acme.email, "platform@example.com");
    assert.deepEqual(issuer.spec.acme.privateKeySecretRef, { name: "letsencrypt-prod-account-key" });
    assert.deepEqual(issuer.spec.acme.solvers, [{ http01: { ingress: { ingressClassName: "nginx" } } }]);
    for (const o of [ing, cert, issuer]) assert.deepEqual(validateObject(o), [], o.kind);
  });

  it("without certificate: cert-manager's ingress-shim annotation names the ClusterIssuer (or Issuer)", () => {
    const cluster = ingressOf(render(shim()).base.objects);
    assert.equal(cluster.metadata.annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
    assert.equal(cluster.metadata.annotations["cert-manager.io/issuer"], undefined);
    assert.equal(cluster.spec.tls[0].secretName, "ai-api-tls");
    const ns = render(shim("      issuerKind: Issuer\n"));
    const ing = ingressOf(ns.base.objects);
    assert.equal(ing.metadata.annotations["cert-manager.io/issuer"], "letsencrypt-prod");
    assert.equal(ing.metadata.annotations["cert-manager.io/cluster-issuer"], undefined);
    assert.ok(!ns.base.objects.some((o) => ["Certificate", "Issuer"].includes(o.object.kind)));
  });

  it("an existing Secret only: TLS without cert-manager; the default Secret name with an issuer", () => {
    const r = render(shim().replace("      issuer: letsencrypt-prod\n", ""));
    const ing = ingressOf(r.base.objects);
    assert.equal(ing.spec.tls[0].secretName, "ai-api-tls");
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
    const named = ingressOf(render(shim().replace("      secretName: ai-api-tls\n", "")).base.objects);
    assert.equal(named.spec.tls[0].secretName, "inferplane-gateway-tls");
  });

  it("without the ingress section: no host rule, no TLS, no cert-manager object", () => {
    const r = render(exampleWith(TLS_BLOCK, ""));
    const ing = ingressOf(r.base.objects);
    assert.equal(ing.spec.tls, undefined);
    assert.equal(ing.spec.rules[0].host, undefined);
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
    assert.ok(!r.objects.some((o) => o.object.apiVersion === "cert-manager.io/v1"));
  });

  it("refuses what cannot work, naming the field", () => {
    refused(
      shim().replace(
        "      secretName: ai-api-tls\n      issuer: letsencrypt-prod\n",
        "      issuerKind: Issuer\n",
      ),
      /gateway\.ingress\.tls.*secretName.*issuer/,
    );
    refused(exampleWith("    host: ai-api.example.com\n", ""), /gateway\.ingress\.host.*host name/);
    refused(shim("      acme:\n        email: ops@example.com\n"), /issuerKind.*Issuer/);
    refused(exampleWith("    host: ai-api.example.com\n", "    host: -bad-\n"), /gateway\.ingress\.host/);
  });
});
