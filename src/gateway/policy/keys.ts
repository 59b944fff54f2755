/**
 * API key format and hashing. A key is `ipk_<id>_<secret>`: the id is public (it names the
 * record in the store and appears in usage), the secret is 32 random bytes. The store holds
 * only `v1$<id>$<salt>$<hmac-sha256(salt, secret)>`. A fast keyed hash is enough because the
 * secret has 256 bits of entropy (nothing to brute-force, unlike a password); the compare is
 * constant-time so response timing says nothing about how much of a guess was right.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { CREDENTIAL_HEADERS } from "../../telemetry/redaction.js";

const KEY_RE = /^ipk_([A-Za-z0-9]{8,32})_([A-Za-z0-9_-]{43})$/;
const HASH_RE = /^v1\$([A-Za-z0-9]{8,32})\$([0-9a-f]{32})\$([0-9a-f]{64})$/;

export interface ParsedHash {
  id: string;
  salt: string;
  digest: string;
}

export interface NewKey {
  id: string;
  /** The key to hand to the client, shown once. */
  key: string;
  /** What the store keeps. */
  hash: string;
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function newId(): string {
  const bytes = randomBytes(12);
  let id = "";
  for (const b of bytes) id += ALNUM[b % ALNUM.length];
  return id;
}

function digestOf(salt: string, secret: string): string {
  return createHmac("sha256", Buffer.from(salt, "hex")).update(secret).digest("hex");
}

export function hashSecret(id: string, secret: string, salt = randomBytes(16).toString("hex")): string {
  return `v1$${id}$${salt}$${digestOf(salt, secret)}`;
}

/** A fresh key; `id` keeps the id (rotation gives a key a new secret under the same id). */
export function generateKey(id = newId()): NewKey {
  const secret = randomBytes(32).toString("base64url");
  return { id, key: `ipk_${id}_${secret}`, hash: hashSecret(id, secret) };
}

/** Splits a presented key; undefined when it is not shaped like one of ours. */
export function parseKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_RE.exec(key);
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

export function parseHash(hash: string): ParsedHash | undefined {
  const m = HASH_RE.exec(hash);
  return m ? { id: m[1] as string, salt: m[2] as string, digest: m[3] as string } : undefined;
}

/** Constant-time check of a presented secret against a stored hash. */
export function verifySecret(secret: string, hash: string): boolean {
  const h = parseHash(hash);
  if (!h) return false;
  const want = Buffer.from(h.digest, "hex");
  const got = Buffer.from(digestOf(h.salt, secret), "hex");
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Short, non-reversible fingerprint of a presented credential, for caches (never logged). */
export function fingerprint(credential: string): string {
  return createHash("sha256").update(credential).digest("base64url");
}

const [AUTHORIZATION, X_API_KEY] = CREDENTIAL_HEADERS;

/**
 * The credential of a request: `Authorization: Bearer …` or `x-api-key` (Anthropic-style clients).
 * The header names come from the telemetry redaction list, so the logger redacts whatever this reads.
 */
export function credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers[AUTHORIZATION];
  if (typeof auth === "string") {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const x = headers[X_API_KEY];
  return typeof x === "string" && x !== "" ? x : undefined;
}

/** Shell-style globs (`*`, `?`) over a name: scope checks for models, paths and collections. */
export function globMatch(pattern: string, name: string): boolean {
  if (pattern === "*") return true;
  if (!pattern.includes("*") && !pattern.includes("?")) return pattern === name;
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(name);
}

export function inScope(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => globMatch(p, name));
}
