/**
 * The API operations the gateway proxies: the engines' operations (src/engines/adapter.ts
 * `API_OPS`, the one list) less `models`, which the gateway answers itself.
 */
import { API_OPS, type ApiOp } from "../../engines/adapter.js";

export type ProxyOp = Exclude<ApiOp, "models">;

export const PROXY_OPS: readonly ProxyOp[] = API_OPS.filter((op): op is ProxyOp => op !== "models");

/** Operations that may stream (SSE) and carry a prompt prefix. */
export function isGenerative(op: ProxyOp): op is "chat" | "completions" {
  return op === "chat" || op === "completions";
}
