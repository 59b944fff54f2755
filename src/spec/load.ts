/**
 * Loading the spec: read → YAML (with positions) → environment overlay → schema → cross
 * checks. Every failure is an InferplaneError listing each problem with path, line, column.
 */
import { readFileSync } from "node:fs";
import type { z } from "zod";
import { InferplaneError, type Problem } from "../errors.js";
import { crossCheck, deployChecks } from "./checks.js";
import { applyEnvironment } from "./overlay.js";
import { type Platform, PlatformShape } from "./schema.js";
import { describeFound, redactSecrets } from "./secrets.js";
import { formatPath, parseYamlSource, positionOf, type SourceDoc } from "./source.js";

export const DEFAULT_SPEC_FILE = "inferplane.yaml";

export interface LoadedSpec {
  platform: Platform;
  /** File the spec came from (`<inline>` for text). */
  file: string;
  /** Environment applied, if any. */
  env?: string;
}

/** The spec file a command uses: the flag, else INFERPLANE_CONFIG, else ./inferplane.yaml. */
export function resolveSpecFile(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? env.INFERPLANE_CONFIG ?? DEFAULT_SPEC_FILE;
}

export function readSpecText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new InferplaneError("spec_not_found", `cannot read spec ${file}: ${reason}`, { cause: err });
  }
}

/** Validates an already-parsed document (shape, then cross references). */
export function validateSource(doc: SourceDoc, options: { deploy?: boolean } = {}): Platform {
  const parsed = PlatformShape.safeParse(doc.value, { reportInput: true });
  const locate = (path: readonly PropertyKey[], message: string): Problem => ({
    path: formatPath(path),
    message,
    ...positionOf(doc.positions, path),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => locate(issue.path, describeIssue(issue)));
    throw new InferplaneError("spec_invalid", `the spec has ${plural(problems.length, "problem")}`, {
      problems,
    });
  }
  const platform = withDefaultRoutes(withGatewayReplicas(parsed.data, doc.value));
  const checks = options.deploy ? [...crossCheck(platform), ...deployChecks(platform)] : crossCheck(platform);
  const problems = checks.map((p) => locate(p.path, redactSecrets(p.message)));
  if (problems.length > 0) {
    throw new InferplaneError("spec_invalid", `the spec has ${plural(problems.length, "problem")}`, {
      problems,
    });
  }
  return platform;
}

/**
 * Parses and validates spec text, applying an environment's overrides first. `deploy` adds the
 * checks of what render deploys (validate, plan and render set it; serve and up do not).
 */
export function parseSpec(
  text: string,
  options: { env?: string; file?: string; deploy?: boolean } = {},
): LoadedSpec {
  const file = options.file ?? "<inline>";
  let doc = parseYamlSource(text);
  if (options.env !== undefined) doc = applyEnvironment(doc, options.env);
  return {
    platform: validateSource(doc, { deploy: options.deploy === true }),
    file,
    ...(options.env === undefined ? {} : { env: options.env }),
  };
}

export function loadSpec(options: { file?: string; env?: string; deploy?: boolean } = {}): LoadedSpec {
  const file = resolveSpecFile(options.file);
  return parseSpec(readSpecText(file), { ...options, file });
}

/** Environment names a spec defines, read without validating the rest. */
export function environmentNames(text: string): string[] {
  const { value } = parseYamlSource(text);
  const envs = (value as { environments?: unknown } | null)?.environments;
  return envs && typeof envs === "object" && !Array.isArray(envs) ? Object.keys(envs) : [];
}

/**
 * `gateway.replicas` left out: 2, unless RAG keeps its index in the embedded SQLite file, which
 * lives in one pod (more replicas would each get an empty database of their own): then 1. A value
 * the spec sets stays, and the deploy checks refuse it with SQLite.
 */
function withGatewayReplicas(p: Platform, raw: unknown): Platform {
  const gateway = (raw as { gateway?: { replicas?: unknown } } | null)?.gateway;
  if (gateway?.replicas !== undefined || !p.rag?.enabled) return p;
  const sqlite = p.rag.stores.vector?.kind === "sqlite" || p.rag.stores.keyword?.kind === "sqlite";
  return sqlite ? { ...p, gateway: { ...p.gateway, replicas: 1 } } : p;
}

/** With no routes, every model is served under its own name. */
function withDefaultRoutes(p: Platform): Platform {
  if (p.routes.length > 0) return p;
  const routes = p.models.map((m) => ({
    name: m.name,
    aliases: [],
    targets: [{ model: m.name, weight: 100 }],
    balancer: "least-request" as const,
    fallbacks: [],
    required: true,
  }));
  return { ...p, routes };
}

/**
 * zod's message, with the value that was found (never for a secret-bearing field, and with any
 * credential masked) and, for unions, what each branch wanted.
 */
function describeIssue(issue: z.core.$ZodIssue): string {
  let message = issue.message;
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const wanted = [...new Set(issue.errors.flatMap((branch) => branch.map((i) => i.message)))];
    message = `expected one of: ${wanted.map((w) => w.replace(/^Invalid input: /, "")).join("; ")}`;
  }
  const input = (issue as { input?: unknown }).input;
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    message += describeFound(issue.path, input);
  }
  return redactSecrets(message);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
