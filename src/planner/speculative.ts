/**
 * The draft model a speculative-decoding model carries, for the memory model: a plain draft
 * model (no `method`) from the catalog, served in its native dtype on the target's ranks.
 * EAGLE/Medusa heads and n-gram/MTP proposals add no separate model to size.
 */
import { draftCatalogModel } from "../spec/checks-deploy.js";
import type { ModelSpec } from "../spec/schema.js";
import type { MemorySettings } from "./memory.js";

export function speculativeDraft(m: ModelSpec): Pick<MemorySettings, "draft"> {
  const s = m.speculative;
  if (!s?.draftModel || s.method !== undefined) return {};
  const model = draftCatalogModel(s.draftModel);
  return model ? { draft: { model, weightFormat: "none" } } : {};
}
