/**
 * The CLI: commander turns flags into options and calls one small command module each
 * (loaded lazily). Only this layer decides exit codes: 0 ok, 1 internal failure, 2 bad input.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ERRORS, formatProblem, isInferplaneError } from "../errors.js";
import { type CliIO, processIO } from "./io.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export function buildProgram(io: CliIO, setExit: (code: number) => void): Command {
  const program = new Command("inferplane")
    .description("Run LLM inference in production on Kubernetes: one spec, one CLI.")
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  program
    .command("validate")
    .description("Check a spec (and every environment overlay) and print a summary")
    .argument("[file]", "spec file (default: -c, $INFERPLANE_CONFIG, ./inferplane.yaml)")
    .option("-c, --config <file>", "spec file")
    .option("-e, --env <name>", "apply this environment's overrides before validating")
    .option("--json", "machine-readable report")
    .action(async (file: string | undefined, opts: { config?: string; env?: string; json?: boolean }) => {
      const { validateCommand } = await import("./validate.js");
      setExit(validateCommand(file, opts, io));
    });

  program
    .command("schema")
    .description("Print the spec's JSON Schema (draft 2020-12), for editors, or its Markdown reference")
    .option("--format <format>", "json or markdown", "json")
    .action(async (opts: { format?: string }) => {
      const { schemaCommand } = await import("./schema.js");
      setExit(schemaCommand(opts, io));
    });

  return program;
}

/** Runs the CLI; resolves to the exit code instead of exiting, so it can be tested in-process. */
export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? 0 : ERRORS.usage.exit;
    }
    if (isInferplaneError(err)) {
      io.err(`✖ ${err.message} [${err.code}]`);
      for (const p of err.problems) io.err(`  ${formatProblem(p)}`);
      return err.def.exit;
    }
    io.err(`✖ internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return ERRORS.internal.exit;
  }
}
