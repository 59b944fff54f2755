/**
 * What a spec error may say about a value. Problems name the field and what is wrong; they quote
 * the value found only where it cannot be a secret. A field is secret-bearing by its name (keys,
 * hashes, tokens, passwords, `*Env`), and any quoted text still passes through `redactSecrets`,
 * which masks API keys, key hashes and the credentials of a URL wherever they appear.
 */

const SECRET_FIELD =
  /^(hash|hashes|key|keys|apikey|api_key|token|tokens|password|passwd|secret|secrets|credentials?|authorization|.*env)$/i;

/** True when a spec path (`gateway.auth.keys[0].hash`) ends in, or passes through, a secret-bearing field. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  return path.some((seg) => typeof seg === "string" && SECRET_FIELD.test(seg));
}

const MASK = "[redacted]";

/** Masks Inferplane keys, key hashes, `user:password@` in URLs, and secret-looking query parameters. */
export function redactSecrets(text: string): string {
  return text
    .replace(/ipk_[A-Za-z0-9]{8,32}_[A-Za-z0-9_-]{20,}/g, `ipk_${MASK}`)
    .replace(/v1\$([A-Za-z0-9]{8,32})\$[0-9a-f]{32}\$[0-9a-f]{64}/g, `v1$$$1$$${MASK}`)
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, `$1${MASK}@`)
    .replace(/([?&](?:[a-z_]*(?:token|key|password|secret|sig|signature)[a-z_]*)=)[^&#\s"']*/gi, `$1${MASK}`)
    .replace(/\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${MASK}`);
}

/** The `(found …)` suffix of a problem: the value, unless the field is secret-bearing; secrets masked. */
export function describeFound(path: readonly PropertyKey[], input: unknown): string {
  if (isSecretPath(path)) return " (the value found is not shown: the field holds a secret)";
  return ` (found ${redactSecrets(JSON.stringify(input) ?? String(input))})`;
}
