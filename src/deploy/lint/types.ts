/** Findings of `inferplane lint`: a rule id, a severity, a message and where. */
import type { RULES } from "./rules.js";

/** `note`: worth a look, may be fine (e.g. the object it names may live in files not linted). */
export type Severity = "error" | "warning" | "note";

/** Every rule's id, as RULES lists them. */
export type RuleId = (typeof RULES)[number]["id"];

export interface Finding {
  rule: RuleId;
  severity: Severity;
  message: string;
  file: string;
  /** 1-based line and column; 1 when unknown. */
  line: number;
  column: number;
}

export interface RuleInfo {
  id: string;
  /** The severity of its findings (a rule may report some at a lower one, as its docs say). */
  severity: Severity;
  /** One line: what it catches. */
  title: string;
  /** Known error of the guide, other mistake (docs/deploy.md, "Rules"); "guide-file": read in the guide's own files. */
  source: "known-error" | "other-mistake" | "guide-file" | "extra";
}
