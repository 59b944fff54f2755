// The method lists of the interfaces the conformance suites check, each proved complete by the
// compiler (a method added to an interface and missing here fails the type check), and the
// runtime check every suite starts with: an implementation missing one of them fails its suite.
import assert from "node:assert/strict";
import type { KeyStore } from "../../src/gateway/policy/key-store.js";
import type { Limiter } from "../../src/gateway/policy/limiter.js";
import type { UsageSink } from "../../src/gateway/policy/usage.js";
import type { Discovery } from "../../src/gateway/upstream/discovery/index.js";

type Complete<T, L extends readonly (keyof T)[]> = [Exclude<keyof T, L[number]>] extends [never]
  ? L
  : { missing: Exclude<keyof T, L[number]> };

/** `list`, when it names every key of T (a compile error otherwise). */
const every =
  <T>() =>
  <const L extends readonly (keyof T)[]>(list: L & Complete<T, L>): readonly (keyof T & string)[] =>
    list as unknown as readonly (keyof T & string)[];

export const KEY_STORE_METHODS = every<KeyStore>()(["get", "list", "put", "close"]);
export const LIMITER_METHODS = every<Limiter>()(["admit", "settle", "close"]);
export const USAGE_SINK_METHODS = every<UsageSink>()(["add", "query", "close"]);
export const DISCOVERY_METHODS = every<Discovery>()(["start", "stop"]);

/** Fails, naming them, when `impl` lacks any of `methods` (own or inherited). */
export function assertImplements(impl: object, methods: readonly string[], what: string): void {
  const missing = methods.filter((m) => typeof (impl as Record<string, unknown>)[m] !== "function");
  assert.deepEqual(missing, [], `${what} lacks ${missing.join(", ")}`);
}
