/** The gateway: listeners, policy (keys, limits, usage), hardening, upstream handling. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { duration } from "../units.js";
import { envVar } from "./enums.js";

// ---------------------------------------------------------------- gateway
export const Gateway = z
  .strictObject({
    listen: z
      .strictObject({
        host: z
          .string()
          .default("127.0.0.1")
          .describe("Bind address (the rendered Deployment binds 0.0.0.0)."),
        port: z.number().int().min(1).max(65535).default(8080).describe("Listen port."),
      })
      .prefault({})
      .describe("Where the gateway listens."),
    replicas: z
      .number()
      .int()
      .positive()
      .default(2)
      .describe(
        "Gateway replicas in Kubernetes; left out: 2, or 1 when RAG keeps its index in the embedded SQLite store (a file in one pod).",
      ),
    auth: z
      .strictObject({
        mode: z.enum(["none", "keys"]).default("none").describe("`keys`: every request needs an API key."),
        adminTokenEnv: envVar("Admin token for /admin/*.").default("INFERPLANE_ADMIN_TOKEN"),
        store: z
          .enum(["sqlite", "redis"])
          .default("sqlite")
          .describe("Where keys live; `redis` for several gateways."),
        sqlitePath: z
          .string()
          .min(1)
          .default(".inferplane/gateway.db")
          .describe("SQLite file holding keys (store `sqlite`) and usage (without `gateway.redis`)."),
        keyHashesEnv: envVar(
          "More keys as hashes only (GitOps): a JSON array shaped like `keys`, e.g. from a Secret.",
        ).default("INFERPLANE_KEY_HASHES"),
        keys: z
          .array(
            z.strictObject({
              name: z.string().min(1).describe("Key name (team or application)."),
              hash: z
                .string()
                .regex(
                  /^v1\$[A-Za-z0-9]{8,32}\$[0-9a-f]{32}\$[0-9a-f]{64}$/,
                  "a salted hash as printed by `inferplane keys create` (v1$id$salt$hash), never a plaintext key",
                )
                .describe("Salted key hash (GitOps keys); never the key."),
              models: z.array(z.string()).default(["*"]).describe("Route name globs the key may use."),
              collections: z
                .array(z.string())
                .default(["*"])
                .describe("RAG collection globs the key may use."),
              paths: z
                .array(z.string())
                .default(["*"])
                .describe("Request path globs the key may call (`/v1/chat/*`, `/v1/embeddings`)."),
              rpm: z.number().int().positive().optional().describe("Requests per minute."),
              tpm: z.number().int().positive().optional().describe("Tokens per minute."),
              budgetTokens: z
                .number()
                .int()
                .positive()
                .optional()
                .describe("Tokens per calendar month (UTC); 429 insufficient_quota once spent."),
            }),
          )
          .default([])
          .describe("Keys declared in the spec, as hashes."),
        protectMetrics: z
          .boolean()
          .default(false)
          .describe(
            "The metrics path needs an API key too (one whose `paths` allow it); `/healthz` and `/readyz` stay open.",
          ),
      })
      .prefault({})
      .describe("Client authentication."),
    limits: z
      .strictObject({
        rpm: z.number().int().positive().optional().describe("Default requests per minute per key."),
        tpm: z.number().int().positive().optional().describe("Default tokens per minute per key."),
        failMode: z
          .enum(["open", "closed"])
          .default("open")
          .describe("When the limit store is unreachable: admit (`open`) or refuse (`closed`)."),
        reserveTokens: z
          .number()
          .int()
          .positive()
          .default(256)
          .describe(
            "For a key with a TPM or budget, a request that sets no completion limit (`max_tokens`, `max_completion_tokens`) gets this one (at most the route's context left after the prompt): it is reserved at admission, reconciled with the real usage, and sent as `max_tokens` so the engine stops there.",
          ),
      })
      .prefault({})
      .describe("Default rate limits per key."),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\/[^@\s]+$/, "redis://host:port[/db] with no credentials in it")
          .describe("Redis URL without credentials."),
        passwordEnv: envVar("Redis password.").optional(),
        prefix: z.string().default("inferplane:").describe("Prefix of every key the gateway writes."),
      })
      .optional()
      .describe("Shared state for limits, keys and usage when the gateway runs as several replicas."),
    usage: z
      .strictObject({
        flushInterval: duration("How often usage counters are written to the store.").default(5_000),
      })
      .prefault({})
      .describe("Usage accounting per key, route and model (on when `auth.mode` is `keys`)."),
    console: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Serve the operator console at `/console` (its JSON behind the admin token when `auth.mode` is `keys`); on locally (`up`, `serve`, compose); the rendered production overlay sets it to false unless the spec sets it there.",
          ),
      })
      .prefault({})
      .describe("The operator console served by the gateway (docs/console.md)."),
    http: z
      .strictObject({
        maxHeaderBytes: z
          .number()
          .int()
          .min(1024)
          .default(16 * 1024)
          .describe("Largest request line plus headers (431 beyond)."),
        maxUrlBytes: z
          .number()
          .int()
          .min(64)
          .default(8 * 1024)
          .describe("Longest request URL (414 beyond)."),
        headersTimeout: duration("Time a client has to send its headers (slowloris guard).").default(10_000),
        requestTimeout: duration("Time a client has to send its whole request (408 beyond).").default(30_000),
        cors: z
          .strictObject({
            origins: z
              .array(z.string())
              .default([])
              .describe("Allowed origins (`*` for any); empty: no CORS headers."),
            maxAge: z.number().int().nonnegative().default(600).describe("Preflight cache, seconds."),
          })
          .prefault({})
          .describe("Cross-origin access for browser clients."),
        securityHeaders: z
          .boolean()
          .default(true)
          .describe("Send nosniff, frame-deny, no-referrer and a locked-down CSP on every response."),
      })
      .prefault({})
      .describe("Client-side HTTP limits and headers."),
    timeouts: z
      .strictObject({
        connect: duration("Connect timeout to an endpoint.").default(2_000),
        firstByte: duration("Time to the upstream's first byte (includes queueing and prefill).").default(
          60_000,
        ),
        idle: duration("Longest gap between streamed chunks.").default(30_000),
        total: duration("Whole-request timeout.").default(600_000),
      })
      .prefault({})
      .describe("Upstream timeouts."),
    retries: z
      .strictObject({
        attempts: z.number().int().nonnegative().max(10).default(2).describe("Retries on another endpoint."),
        backoff: duration("Base backoff between retries.").default(50),
        budgetPercent: z
          .number()
          .min(0)
          .max(100)
          .default(20)
          .describe("Retries allowed as a share of recent requests (a retry budget, as Envoy/Linkerd)."),
      })
      .prefault({})
      .describe("Retries on another endpoint, before the first byte reached the client."),
    // Envoy outlier-detection defaults: consecutive_5xx 5, interval 10 s, base_ejection_time 30 s,
    // max ejection 300 s, max_ejection_percent 10 (envoyproxy/envoy api/envoy/config/cluster/v3/outlier_detection.proto).
    outlierDetection: z
      .strictObject({
        consecutive5xx: z
          .number()
          .int()
          .positive()
          .default(5)
          .describe("Failures in a row that eject an endpoint."),
        interval: duration("Health-check interval.").default(10_000),
        baseEjectionTime: duration("First ejection; multiplied by the ejection count.").default(30_000),
        maxEjectionTime: duration("Cap on one ejection.").default(300_000),
        maxEjectionPercent: z
          .number()
          .min(0)
          .max(100)
          .default(10)
          .describe("Most of a pool ejected at once."),
      })
      .prefault({})
      .describe("Ejection of failing endpoints (Envoy's outlier detection)."),
    ingress: z
      .strictObject({
        className: z.string().min(1).default("nginx").describe("IngressClass of the Ingress."),
        host: z
          .string()
          .regex(
            /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/,
            "a DNS host name such as api.example.com",
          )
          .optional()
          .describe("Host the Ingress answers for; omitted: every host."),
        tls: z
          .strictObject({
            secretName: z
              .string()
              .min(1)
              .optional()
              .describe("Secret holding the certificate (default with `issuer`: `<gateway>-tls`)."),
            issuer: z.string().min(1).optional().describe("cert-manager issuer that signs the certificate."),
            issuerKind: z
              .enum(["ClusterIssuer", "Issuer"])
              .default("ClusterIssuer")
              .describe("Kind of `issuer`."),
            certificate: z
              .boolean()
              .default(false)
              .describe(
                "Render a cert-manager Certificate instead of the ingress annotations cert-manager's ingress-shim reads.",
              ),
            acme: z
              .strictObject({
                email: z.email().describe("ACME account e-mail."),
                server: z
                  .url()
                  .default("https://acme-v02.api.letsencrypt.org/directory")
                  .describe("ACME directory (default: Let's Encrypt production)."),
              })
              .optional()
              .describe(
                "Also render `issuer` as a namespaced ACME Issuer solving HTTP-01 through the Ingress class.",
              ),
          })
          .optional()
          .describe("Terminate TLS at the Ingress: an existing Secret, or one cert-manager issues."),
      })
      .prefault({})
      .describe("The gateway's Ingress."),
    maxInFlightPerEndpoint: z
      .number()
      .int()
      .positive()
      .default(512)
      .describe("Requests in flight per endpoint; beyond it requests wait in the pool's queue."),
    maxQueuedPerPool: z
      .number()
      .int()
      .nonnegative()
      .default(1024)
      .describe(
        "Requests that may wait for a free endpoint; beyond it the gateway answers 429 with Retry-After.",
      ),
    maxQueueWait: duration("Longest wait in a pool's queue before 429.").default(30_000),
    maxRequestBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024)
      .describe("Largest request body accepted (413 beyond)."),
    drainTimeout: duration("Grace period for in-flight requests on SIGTERM.").default(30_000),
  })
  .describe("The OpenAI-compatible gateway.");
