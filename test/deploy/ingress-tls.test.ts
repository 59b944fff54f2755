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
`;

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
  it("the example's Ingress answers the guide's host over TLS, the certificate from cert-manager's ClusterIssuer", () => {
    const ing = ingressOf(renderExample().base.objects);
    assert.deepEqual(ing.spec.tls, [{ hosts: ["ai-api.example.com"], secretName: "ai-api-tls" }]);
    assert.equal(ing.spec.rules[0].host, "ai-api.example.com");
    assert.equal(ing.spec.ingressClassName, "nginx");
    assert.equal(ing.metadata.annotations["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
    assert.equal(ing.metadata.annotations["cert-manager.io/issuer"], undefined);
    // The streaming annotations stay.
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-buffering"], "off");
    assert.deepEqual(validateObject(ing), []);
  });

  it("without the ingress section: no host rule, no TLS, no cert-manager annotation", () => {
    const ing = ingressOf(render(exampleWith(TLS_BLOCK, "")).base.objects);
    assert.equal(ing.spec.tls, undefined);
    assert.equal(ing.spec.rules[0].host, undefined);
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
  });

  it("an existing Secret only: TLS without cert-manager", () => {
    const r = render(exampleWith("      issuer: letsencrypt-prod\n", ""));
    const ing = ingressOf(r.base.objects);
    assert.equal(ing.spec.tls[0].secretName, "ai-api-tls");
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
  });

  it("a namespaced Issuer uses the issuer annotation", () => {
    const r = render(
      exampleWith(
        "      issuer: letsencrypt-prod\n",
        "      issuer: letsencrypt-prod\n      issuerKind: Issuer\n",
      ),
    );
    const ing = ingressOf(r.base.objects);
    assert.equal(ing.metadata.annotations["cert-manager.io/issuer"], "letsencrypt-prod");
    assert.equal(ing.metadata.annotations["cert-manager.io/cluster-issuer"], undefined);
  });

  it("certificate: true renders a Certificate (no annotation); acme adds the ACME Issuer solving HTTP-01 through the class", () => {
    const r = render(
      exampleWith(
        "      issuer: letsencrypt-prod\n",
        "      issuer: letsencrypt-prod\n      issuerKind: Issuer\n      certificate: true\n      acme:\n        email: ops@example.com\n",
      ),
    );
    const objs = r.base.objects.map((o) => o.object as Plain);
    const cert = objs.find((o) => o.kind === "Certificate");
    const issuer = objs.find((o) => o.kind === "Issuer");
    assert.ok(cert && issuer);
    assert.equal(cert.apiVersion, "cert-manager.io/v1");
    assert.deepEqual(cert.spec, {
      secretName: "ai-api-tls",
      dnsNames: ["ai-api.example.com"],
      issuerRef: { name: "letsencrypt-prod", kind: "Issuer", group: "cert-manager.io" },
    });
    assert.equal(issuer.metadata.name, "letsencrypt-prod");
    assert.equal(issuer.spec.acme.server, "https://acme-v02.api.letsencrypt.org/directory");
    assert.equal(issuer.spec.acme.email, "ops@example.com");
    assert.deepEqual(issuer.spec.acme.solvers, [{ http01: { ingress: { ingressClassName: "nginx" } } }]);
    const ing = ingressOf(r.base.objects);
    assert.ok(!Object.keys(ing.metadata.annotations).some((k) => k.startsWith("cert-manager.io/")));
    assert.equal(ing.spec.tls[0].secretName, cert.spec.secretName);
  });

  it("refuses what cannot work, naming the field", () => {
    refused(
      exampleWith(
        "      secretName: ai-api-tls\n      issuer: letsencrypt-prod\n",
        "      issuerKind: Issuer\n",
      ),
      /gateway\.ingress\.tls.*secretName.*issuer/,
    );
    refused(exampleWith("    host: ai-api.example.com\n", ""), /gateway\.ingress\.host.*host name/);
    refused(
      exampleWith(
        "      issuer: letsencrypt-prod\n",
        "      acme:\n        email: ops@example.com\n      issuer: x\n",
      ),
      /issuerKind.*Issuer/,
    );
    refused(exampleWith("    host: ai-api.example.com\n", "    host: -bad-\n"), /gateway\.ingress\.host/);
  });
});
