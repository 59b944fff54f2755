/**
 * Field shapes of the custom resources the compiler renders that no installed kubernetes-models
 * package covers, checked as validate.ts checks the HelmChart: every field known, of its type,
 * enums within their values, required fields present. Transcribed from the upstream API types:
 * - autoscaling.k8s.io/v1 VerticalPodAutoscaler: kubernetes/autoscaler
 *   vertical-pod-autoscaler/pkg/apis/autoscaling.k8s.io/v1/types.go;
 * - cert-manager.io/v1 Certificate and Issuer: cert-manager/cert-manager
 *   pkg/apis/certmanager/v1/types_certificate.go, types_issuer.go, and pkg/apis/acme/v1/types_issuer.go.
 * Sub-trees the compiler never writes (vault, venafi, dns01, pod templates) are accepted as objects.
 */
import type { ValidationProblem } from "./validate.js";

type Shape =
  | "string"
  | "boolean"
  | "integer"
  | "object" // any object
  | "quantities" // map of resource name → quantity (string or number)
  | { enum: readonly string[] }
  | { array: Shape }
  | { fields: Record<string, Shape>; required?: readonly string[] };

const str: Shape = "string";
const strings: Shape = { array: "string" };
const objectRef = (required: string[]): Shape => ({
  fields: { name: str, kind: str, group: str, apiVersion: str },
  required,
});

const VPA_SPEC: Shape = {
  fields: {
    targetRef: { fields: { apiVersion: str, kind: str, name: str }, required: ["kind", "name"] },
    updatePolicy: {
      fields: {
        updateMode: { enum: ["Off", "Initial", "Recreate", "Auto", "InPlaceOrRecreate"] },
        minReplicas: "integer",
        evictionRequirements: { array: "object" },
      },
    },
    resourcePolicy: {
      fields: {
        containerPolicies: {
          array: {
            fields: {
              containerName: str,
              mode: { enum: ["Auto", "Off"] },
              minAllowed: "quantities",
              maxAllowed: "quantities",
              controlledResources: { array: { enum: ["cpu", "memory"] } },
              controlledValues: { enum: ["RequestsAndLimits", "RequestsOnly"] },
            },
          },
        },
      },
    },
    recommenders: { array: { fields: { name: str }, required: ["name"] } },
  },
  required: ["targetRef"],
};

const CERTIFICATE_SPEC: Shape = {
  fields: {
    secretName: str,
    issuerRef: objectRef(["name"]),
    dnsNames: strings,
    commonName: str,
    duration: str,
    renewBefore: str,
    renewBeforePercentage: "integer",
    usages: strings,
    ipAddresses: strings,
    uris: strings,
    emailAddresses: strings,
    otherNames: { array: "object" },
    isCA: "boolean",
    subject: "object",
    literalSubject: str,
    privateKey: "object",
    keystores: "object",
    secretTemplate: "object",
    revisionHistoryLimit: "integer",
    additionalOutputFormats: { array: "object" },
    nameConstraints: "object",
    encodeUsagesInRequest: "boolean",
  },
  required: ["secretName", "issuerRef"],
};

const ISSUER_SPEC: Shape = {
  fields: {
    acme: {
      fields: {
        email: str,
        server: str,
        profile: str,
        preferredChain: str,
        caBundle: str,
        skipTLSVerify: "boolean",
        externalAccountBinding: "object",
        privateKeySecretRef: { fields: { name: str, key: str }, required: ["name"] },
        solvers: {
          array: {
            fields: {
              selector: "object",
              dns01: "object",
              http01: {
                fields: {
                  ingress: {
                    fields: {
                      class: str,
                      ingressClassName: str,
                      name: str,
                      serviceType: str,
                      podTemplate: "object",
                      ingressTemplate: "object",
                    },
                  },
                  gatewayHTTPRoute: "object",
                },
              },
            },
          },
        },
        disableAccountKeyGeneration: "boolean",
        enableDurationFeature: "boolean",
      },
      required: ["server", "privateKeySecretRef"],
    },
    ca: "object",
    selfSigned: "object",
    vault: "object",
    venafi: "object",
  },
};

export const CRD_SHAPES: Record<string, Shape> = {
  "autoscaling.k8s.io/v1/VerticalPodAutoscaler": VPA_SPEC,
  "cert-manager.io/v1/Certificate": CERTIFICATE_SPEC,
  "cert-manager.io/v1/Issuer": ISSUER_SPEC,
  "cert-manager.io/v1/ClusterIssuer": ISSUER_SPEC,
};

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function check(v: unknown, shape: Shape, path: string, out: ValidationProblem[]): void {
  if (typeof shape === "string") checkScalar(v, shape, path, out);
  else if ("enum" in shape) {
    if (typeof v !== "string" || !shape.enum.includes(v))
      out.push({ path, message: `must be one of ${shape.enum.join(", ")}` });
  } else if ("array" in shape) {
    if (!Array.isArray(v)) out.push({ path, message: "must be an array" });
    else
      v.forEach((x, i) => {
        check(x, shape.array, `${path}/${i}`, out);
      });
  } else checkFields(v, shape, path, out);
}

type ScalarShape = Extract<Shape, string>;

function checkScalar(v: unknown, shape: ScalarShape, path: string, out: ValidationProblem[]): void {
  if (shape === "string" || shape === "boolean") {
    if (typeof v !== shape) out.push({ path, message: `must be a ${shape}` });
  } else if (shape === "integer") {
    if (!Number.isInteger(v)) out.push({ path, message: "must be an integer" });
  } else if (shape === "object") {
    if (!isPlain(v)) out.push({ path, message: "must be an object" });
  } else if (!isPlain(v)) out.push({ path, message: "must be a map of resource quantities" });
  else
    for (const [k, q] of Object.entries(v))
      if (typeof q !== "string" && typeof q !== "number")
        out.push({ path: `${path}/${k}`, message: "must be a quantity" });
}

/** An object with declared fields: required ones present, no undeclared one, each of its shape. */
function checkFields(
  v: unknown,
  shape: Extract<Shape, { fields: unknown }>,
  path: string,
  out: ValidationProblem[],
): void {
  if (!isPlain(v)) {
    out.push({ path, message: "must be an object" });
    return;
  }
  for (const r of shape.required ?? [])
    if (!(r in v)) out.push({ path: `${path}/${r}`, message: "is required" });
  for (const [k, x] of Object.entries(v)) {
    const s = shape.fields[k];
    if (s === undefined)
      out.push({ path: `${path}/${k}`, message: "unknown field (the schema does not declare it)" });
    else check(x, s, `${path}/${k}`, out);
  }
}

/** Problems of a custom resource this module knows (`kind` in CRD_SHAPES), else null. */
export function validateCustomResource(key: string, o: Record<string, unknown>): ValidationProblem[] | null {
  const shape = CRD_SHAPES[key];
  if (!shape) return null;
  const out: ValidationProblem[] = [];
  const meta = o.metadata;
  if (!isPlain(meta) || typeof meta.name !== "string" || meta.name === "")
    out.push({ path: "/metadata/name", message: "is required" });
  for (const k of Object.keys(o))
    if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k))
      out.push({ path: `/${k}`, message: "unknown field (the schema does not declare it)" });
  check(o.spec, shape, "/spec", out);
  return out;
}
