/**
 * The one list of what never reaches a log line: the credential headers the gateway's policy
 * reads a key from, other secrets, and fields that carry prompt or document text. The pino
 * logger redacts by the explicit paths built here; the policy reads credentials from the same
 * header names; the suite's log scan looks for those headers unredacted.
 */

/** Headers a caller's API key arrives in (`src/gateway/policy/keys.ts` `credentialOf`). */
export const CREDENTIAL_HEADERS = ["authorization", "x-api-key"] as const;

/** Other keys holding secrets. */
export const SECRET_KEYS = ["Authorization", "cookie", "apiKey", "api_key", "password", "token", "secret"];

/** Keys holding user text (prompts, queries, documents). */
export const USER_TEXT_KEYS = ["messages", "prompt", "input", "query", "documents", "text", "content"];

/** Keys whose values never reach a log line, at the top level or one object deep. */
export const REDACTED_KEYS: readonly string[] = [...CREDENTIAL_HEADERS, ...SECRET_KEYS, ...USER_TEXT_KEYS];

/** Objects under which those keys are looked for too. */
export const REDACTED_PARENTS = [
  "headers",
  "req.headers",
  "request",
  "request.headers",
  "body",
  "req.body",
  "err",
  "error",
  "config",
];

export const REDACTED_CENSOR = "[redacted]";

/**
 * pino redaction paths, all explicit: a leading `*` wildcard made every line 20× dearer
 * (about 85 µs a line; see docs/benchmarks.md).
 */
export function redactPaths(): string[] {
  return REDACTED_KEYS.flatMap((k) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
    const dotted = key.startsWith("[") ? key : `.${key}`;
    return [key, ...REDACTED_PARENTS.map((p) => `${p}${dotted}`)];
  });
}
