/**
 * Byte-stable YAML for rendered manifests. YAML 1.1 output so that strings such as "yes", "on"
 * or "0755" are quoted: Kubernetes and kustomize read YAML with 1.1 rules, where unquoted they
 * would turn into booleans or octal numbers.
 */
import { parseAllDocuments, stringify } from "yaml";

const OPTIONS = { lineWidth: 0, minContentWidth: 0, version: "1.1", aliasDuplicateObjects: false } as const;

export function toYaml(value: unknown): string {
  return stringify(value, OPTIONS);
}

/** Several documents in one file, separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => toYaml(v)).join("---\n");
}

/** Every document of a multi-document YAML text, as plain data (empty documents dropped). */
export function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((v) => v !== null && v !== undefined);
}
