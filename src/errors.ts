/**
 * Every error Inferplane raises, defined once: a stable code, an HTTP status, the OpenAI
 * error `type`, the process exit code the CLI uses, and a one-line description (the docs
 * table in docs/errors.md is checked against this list by a test).
 */

export interface ErrorDef {
  /** HTTP status when a server answers with this error. */
  status: number;
  /** OpenAI error `type` (`invalid_request_error`, `authentication_error`, …). */
  type: string;
  /** Exit code when the CLI stops on this error. */
  exit: number;
  /** What the code means, for docs/errors.md. */
  doc: string;
}

export const ERRORS = {
  spec_not_found: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "The spec file does not exist or cannot be read.",
  },
  spec_yaml_syntax: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "The spec file is not valid YAML; the message names line and column.",
  },
  spec_invalid: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "The spec does not match the schema; every problem is listed with its field path and line.",
  },
  spec_unknown_environment: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "`--env` names an environment the spec does not define.",
  },
  catalog_unknown_model: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "A model id is not in the catalog.",
  },
  catalog_unknown_gpu: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "A GPU id is not in the catalog.",
  },
  model_files_unavailable: {
    status: 503,
    type: "server_error",
    exit: 1,
    doc: "A local engine's model files are not installed and could not be fetched (`bash test/services/install.sh embedding_models`, or let `up` fetch them once).",
  },
  model_files_invalid: {
    status: 500,
    type: "server_error",
    exit: 1,
    doc: "Model files failed their pinned SHA-256 check, or their archive cannot be read; nothing is installed.",
  },
  invalid_json: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "The request body is not valid JSON, or not a JSON object.",
  },
  invalid_request: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "A request field is missing or has the wrong type; the message names it.",
  },
  model_not_found: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "The `model` of a request names no route (public name or alias).",
  },
  not_found: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "No such path on this server.",
  },
  request_too_large: {
    status: 413,
    type: "invalid_request_error",
    exit: 2,
    doc: "The request body exceeds `gateway.maxRequestBytes`.",
  },
  pool_queue_full: {
    status: 429,
    type: "requests",
    exit: 1,
    doc: "Every endpoint of the pool is at its in-flight cap and the pool's queue is full; retry after `Retry-After` seconds.",
  },
  embedding_queue_full: {
    status: 429,
    type: "requests",
    exit: 1,
    doc: "The embedded embedding engine's queue is full (`--max-queue` texts waiting); retry after `Retry-After` seconds.",
  },
  invalid_api_key: {
    status: 401,
    type: "invalid_request_error",
    exit: 2,
    doc: "The request carries no API key, or one the gateway does not know (unknown, revoked or malformed); also a wrong admin token on `/admin/*`.",
  },
  permission_denied: {
    status: 403,
    type: "invalid_request_error",
    exit: 2,
    doc: "The API key is valid but its scope does not include the requested model, path or collection.",
  },
  rate_limit_exceeded: {
    status: 429,
    type: "requests",
    exit: 1,
    doc: "The key's requests-per-minute or tokens-per-minute limit is reached (type `requests` or `tokens`); retry after `Retry-After` seconds.",
  },
  insufficient_quota: {
    status: 429,
    type: "insufficient_quota",
    exit: 1,
    doc: "The key's monthly token budget is spent; it renews at the start of the next month (UTC).",
  },
  policy_unavailable: {
    status: 503,
    type: "server_error",
    exit: 1,
    doc: "The limit store (Redis) is unreachable and `gateway.limits.failMode` is `closed`; retry after `Retry-After` seconds.",
  },
  uri_too_long: {
    status: 414,
    type: "invalid_request_error",
    exit: 2,
    doc: "The request URL exceeds `gateway.http.maxUrlBytes`.",
  },
  headers_too_large: {
    status: 431,
    type: "invalid_request_error",
    exit: 2,
    doc: "The request line and headers exceed `gateway.http.maxHeaderBytes`.",
  },
  request_timeout: {
    status: 408,
    type: "invalid_request_error",
    exit: 2,
    doc: "The client did not send its headers or body within `gateway.http.headersTimeout` / `requestTimeout`.",
  },
  key_not_found: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "`inferplane keys revoke` or `rotate` (or `/admin/keys/…`) names a key id the store does not hold.",
  },
  no_healthy_upstream: {
    status: 503,
    type: "server_error",
    exit: 1,
    doc: "No endpoint of the route's pools (or of its fallbacks) is healthy.",
  },
  upstream_error: {
    status: 502,
    type: "server_error",
    exit: 1,
    doc: "Every attempt failed (connect error, 5xx, 429) before a response could be relayed; the message says what the last attempt got.",
  },
  upstream_timeout: {
    status: 504,
    type: "server_error",
    exit: 1,
    doc: "The upstream did not answer within the first-byte or total timeout.",
  },
  upstream_stream_error: {
    status: 502,
    type: "server_error",
    exit: 1,
    doc: "The upstream failed in the middle of a stream; sent as a final SSE `error` event, never as a silent end.",
  },
  local_engine_failed: {
    status: 500,
    type: "server_error",
    exit: 1,
    doc: "A real engine `inferplane up` runs on this machine (llama.cpp) could not be installed or started; the message names the step and ends with its output.",
  },
  shutting_down: {
    status: 503,
    type: "server_error",
    exit: 1,
    doc: "The gateway is draining after SIGTERM and takes no new requests.",
  },
  rag_collection_not_found: {
    status: 404,
    type: "invalid_request_error",
    exit: 2,
    doc: "A RAG request names a collection that does not exist.",
  },
  rag_collection_exists: {
    status: 409,
    type: "invalid_request_error",
    exit: 2,
    doc: "A RAG collection with that name already exists.",
  },
  rag_url_blocked: {
    status: 403,
    type: "invalid_request_error",
    exit: 2,
    doc: "URL ingestion refused an address that is loopback, private, link-local or otherwise internal (allow it with `rag.ingest.allowHosts`/`allowPrivateNetworks`).",
  },
  rag_unsupported_file: {
    status: 415,
    type: "invalid_request_error",
    exit: 2,
    doc: "A file to ingest has a type no loader reads (.txt, .md, .html, .pdf, .jsonl), or cannot be parsed.",
  },
  rag_store_unavailable: {
    status: 502,
    type: "server_error",
    exit: 1,
    doc: "The RAG store (SQLite file, Milvus, OpenSearch, Elasticsearch) failed or cannot be reached.",
  },
  usage: {
    status: 400,
    type: "invalid_request_error",
    exit: 2,
    doc: "The command line is wrong: unknown option, missing argument or bad value.",
  },
  internal: {
    status: 500,
    type: "server_error",
    exit: 1,
    doc: "An unexpected failure inside Inferplane; the message carries the cause.",
  },
} as const satisfies Record<string, ErrorDef>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Exit statuses that are outcomes rather than an error code's own (docs/errors.md, "Exit
 * statuses"): the command ran, and what it found decides the status.
 */
export const EXIT_STATUSES = {
  ok: 0,
  /** `lint` found errors, `render --verify` a failing check, `bench` not one successful request. */
  failures_found: 1,
  /** `validate` found the spec invalid (each problem is printed): the status of `spec_invalid`. */
  spec_invalid: ERRORS.spec_invalid.exit,
  /** `plan` ran fine but found a placement that does not fit. */
  plan_infeasible: 3,
  /** Stopped by Ctrl+C (SIGINT), as shells report it (128 + 2): `bench` still reports what ran. */
  interrupted: 130,
} as const;

/** One located problem, e.g. a schema violation at a field path and YAML line. */
export interface Problem {
  /** Field path in the spec, `models[0].maxModelLen`; empty for the document root. */
  path: string;
  message: string;
  /** 1-based line and column in the source file, when known. */
  line?: number;
  column?: number;
}

export class InferplaneError extends Error {
  readonly code: ErrorCode;
  readonly problems: Problem[];
  /** The request parameter at fault (OpenAI's `param`), when there is one. */
  readonly param: string | null;
  /** Seconds a server's answer tells the client to wait (`Retry-After`), when it says. */
  readonly retryAfter: string | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    options: { problems?: Problem[]; cause?: unknown; param?: string; retryAfter?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "InferplaneError";
    this.code = code;
    this.problems = options.problems ?? [];
    this.param = options.param ?? null;
    this.retryAfter = options.retryAfter;
  }
  get def(): ErrorDef {
    return ERRORS[this.code];
  }
  /** The OpenAI error body a server sends for this error. */
  toOpenAI(): { error: { message: string; type: string; code: string; param: string | null } } {
    return { error: { message: this.message, type: this.def.type, code: this.code, param: this.param } };
  }
}

export function isInferplaneError(err: unknown): err is InferplaneError {
  return err instanceof InferplaneError;
}

/** `file:line:col path: message`, the one way a problem is printed. */
export function formatProblem(p: Problem, file?: string): string {
  const where = [file, p.line, p.column].filter((x) => x !== undefined && x !== "").join(":");
  const path = p.path === "" ? "(root)" : p.path;
  return `${where ? `${where}: ` : ""}${path}: ${p.message}`;
}
