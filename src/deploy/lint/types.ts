/** Findings of `inferplane lint`: a rule id, a severity, a message and where. */

export type Severity = "error" | "warning";

export interface Finding {
  rule: string;
  severity: Severity;
  message: string;
  file: string;
  /** 1-based line and column; 1 when unknown. */
  line: number;
  column: number;
}

export interface RuleInfo {
  id: string;
  severity: Severity;
  /** One line: what it catches. */
  title: string;
  /** Which list of DESIGN.md it comes from. */
  source: "known-error" | "other-mistake" | "extra";
}
