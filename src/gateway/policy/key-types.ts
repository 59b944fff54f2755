/**
 * What a key is, as plain types with no imports: the store's record and the operators' view of
 * it. The console (src/console, a browser build) reads the admin API with the same `KeyView`.
 */
export interface KeyScope {
  /** Route-name globs (`chat-*`). */
  models: string[];
  /** RAG collection globs. */
  collections: string[];
  /** Request path globs (`/v1/chat/*`). */
  paths: string[];
}

export interface KeyLimits {
  rpm?: number;
  tpm?: number;
  /** Tokens per calendar month (UTC). */
  budgetTokens?: number;
}

export interface KeyRecord extends KeyScope, KeyLimits {
  id: string;
  name: string;
  hash: string;
  createdAt: string;
  revokedAt?: string;
  rotatedAt?: string;
  source: "store" | "spec" | "env";
}

/** A key as shown to operators: everything but the hash. */
export type KeyView = Omit<KeyRecord, "hash">;
