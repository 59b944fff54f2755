/** The spec's JSON Schema (draft 2020-12) for editors; committed as schema/inferplane.schema.json. */
import { z } from "zod";
import { PlatformShape } from "./schema.js";

export const SCHEMA_ID = "https://inferplane.dev/schema/v1/inferplane.schema.json";

export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PlatformShape, {
    target: "draft-2020-12",
    // What users write: fields with defaults are optional.
    io: "input",
    override: (ctx) => {
      // zod drops the default of a transformed field (durations) in input mode; keep it.
      const def = ctx.zodSchema._zod.def as { type: string; defaultValue?: unknown };
      if (def.type === "default" && ctx.jsonSchema.default === undefined)
        ctx.jsonSchema.default = def.defaultValue;
    },
  }) as Record<string, unknown>;
  return { $schema: schema.$schema, $id: SCHEMA_ID, title: "Inferplane platform spec", ...schema };
}
