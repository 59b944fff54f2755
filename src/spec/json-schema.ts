/** The spec's JSON Schema (draft 2020-12) for editors; committed as schema/inferplane.schema.json. */
import { z } from "zod";
import { PlatformShape } from "./schema.js";

export const SCHEMA_ID = "https://inferplane.dev/schema/v1/inferplane.schema.json";

export function specJsonSchema(): Record<string, unknown> {
  // `io: "input"` describes what users write: fields with defaults are optional.
  const schema = z.toJSONSchema(PlatformShape, { target: "draft-2020-12", io: "input" }) as Record<
    string,
    unknown
  >;
  return { $schema: schema.$schema, $id: SCHEMA_ID, title: "Inferplane platform spec", ...schema };
}
