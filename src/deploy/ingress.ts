/**
 * The gateway Ingress's host and TLS: the `tls` section and host rule, and how the certificate
 * comes to exist — an existing Secret, cert-manager's ingress-shim reading the
 * `cert-manager.io/cluster-issuer` / `cert-manager.io/issuer` annotation
 * (cert-manager.io/docs/usage/ingress/), or an explicit Certificate, optionally with a
 * namespaced ACME Issuer solving HTTP-01 through the same Ingress class
 * (cert-manager.io/docs/configuration/acme/http01/).
 */
import type { Platform } from "../spec/schema.js";
import type { K8sObject, PlacedObject } from "./types.js";

export function tlsSecretName(p: Platform, gateway: string): string | undefined {
  const tls = p.gateway.ingress.tls;
  return tls ? (tls.secretName ?? `${gateway}-tls`) : undefined;
}

/** cert-manager annotations when ingress-shim issues the certificate. */
export function ingressAnnotations(p: Platform): Record<string, string> {
  const tls = p.gateway.ingress.tls;
  if (!tls?.issuer || tls.certificate) return {};
  const key =
    tls.issuerKind === "ClusterIssuer" ? "cert-manager.io/cluster-issuer" : "cert-manager.io/issuer";
  return { [key]: tls.issuer };
}

/** The Ingress spec's class, host rule and TLS section around the gateway's one path. */
export function ingressSpec(p: Platform, gateway: string, paths: unknown[]): Record<string, unknown> {
  const { className, host, tls } = p.gateway.ingress;
  return {
    ingressClassName: className,
    ...(tls ? { tls: [{ ...(host ? { hosts: [host] } : {}), secretName: tlsSecretName(p, gateway) }] } : {}),
    rules: [{ ...(host ? { host } : {}), http: { paths } }],
  };
}

/** cert-manager objects the spec asks for: a Certificate and an ACME Issuer. */
export function certManagerObjects(
  p: Platform,
  gateway: string,
  labels: Record<string, string>,
): PlacedObject[] {
  const { host, tls, className } = p.gateway.ingress;
  if (!tls?.issuer || !host) return [];
  const out: PlacedObject[] = [];
  if (tls.acme) {
    const issuer: K8sObject = {
      apiVersion: "cert-manager.io/v1",
      kind: "Issuer",
      metadata: { name: tls.issuer, labels },
      spec: {
        acme: {
          email: tls.acme.email,
          server: tls.acme.server,
          privateKeySecretRef: { name: `${tls.issuer}-account-key` },
          solvers: [{ http01: { ingress: { ingressClassName: className } } }],
        },
      },
    };
    out.push({ file: "gateway/issuer.yaml", object: issuer });
  }
  if (tls.certificate) {
    out.push({
      file: "gateway/certificate.yaml",
      object: {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: gateway, labels },
        spec: {
          secretName: tlsSecretName(p, gateway),
          dnsNames: [host],
          issuerRef: { name: tls.issuer, kind: tls.issuerKind, group: "cert-manager.io" },
        },
      },
    });
  }
  return out;
}
