import { specJsonSchema } from "../spec/json-schema.js";
import { type CliIO, printJson } from "./io.js";

export function schemaCommand(io: CliIO): number {
  printJson(io, specJsonSchema());
  return 0;
}
