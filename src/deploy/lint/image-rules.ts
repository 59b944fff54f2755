/**
 * Rules that need to know what is inside an image: a known image started without the command it
 * needs, a health check calling a program the image lacks, and the shell's reading of an
 * unquoted version specifier in a Dockerfile RUN.
 */
import { dirname, resolve } from "node:path";
import { imageTools, requiredCommand } from "../../catalog/images.js";
import { type ContainerRef, containers, type ProbeCommand } from "./containers.js";
import { type Instruction, type Stage, stageChain, stages } from "./dockerfile.js";
import type { LoadedDockerfile } from "./load.js";
import { isPlain, type LintContext, str } from "./objects.js";
import { programName, programs, unquotedVersionSpecifiers } from "./shell.js";

// ------------------------------------------------------------------ required command

function commandRule(ctx: LintContext): void {
  for (const c of containers(ctx)) {
    if (!c.image) continue;
    const need = requiredCommand(c.image);
    if (!need || need.requires.test(c.argv.join(" "))) continue;
    const given = c.argv.length === 0 ? "with no command" : `with command ${JSON.stringify(c.argv)}`;
    ctx.at(
      c.doc,
      [...c.path, "image"],
      "image-command-missing",
      `${c.owner} runs ${c.image} ${given}: ${need.without}; add command: ${JSON.stringify(need.example)}`,
    );
  }
}

// ------------------------------------------------------------------ unquoted specifiers

function specifierRule(ctx: LintContext): void {
  for (const d of ctx.dockerfiles) {
    for (const stage of stages(d.lines)) {
      for (const ins of stage.instructions) {
        if (ins.keyword !== "RUN" || ins.args.trimStart().startsWith("[")) continue;
        for (const u of unquotedVersionSpecifiers(ins.args)) {
          if (ins.data.some(([from, to]) => u.offset >= from && u.offset < to)) continue;
          const at = ins.pos(u.offset);
          const effect =
            u.op === ">"
              ? `the shell reads > as a redirect: the command gets a bare ${u.name.replace(/@$/, "")} (installed unpinned) and its output goes to a file named ${u.file}`
              : `the shell reads < as input from a file named ${u.file}, which does not exist, so the RUN fails`;
          ctx.add(
            "run-unquoted-version-specifier",
            `${u.token} is unquoted in a shell-form RUN: ${effect}; quote it: "${u.token}"`,
            d.file,
            at.line,
            at.column,
          );
        }
      }
    }
  }
}

// ------------------------------------------------------------------ probe programs

/** Programs a health check needs: its argv[0] (or /bin/sh for the shell form) and what a script runs. */
function needed(cmd: ProbeCommand): { name: string; why: string }[] {
  const out: { name: string; why: string }[] = [];
  let script: string | undefined;
  if (cmd.form === "shell") {
    out.push({ name: "sh", why: "the shell form runs /bin/sh -c" });
    script = cmd.script;
  } else {
    const first = programName(cmd.argv[0] ?? "");
    if (first) out.push({ name: first, why: "" });
    if ((first === "sh" || first === "bash") && cmd.argv[1] === "-c") script = cmd.argv[2];
  }
  if (script !== undefined)
    for (const p of programs(script)) out.push({ name: programName(p.name), why: "" });
  return out;
}

/** Whether any RUN, COPY or ADD along the chain mentions the program (installs, fetches or copies it). */
function mentions(chain: readonly Stage[], program: string): boolean {
  const word = new RegExp(
    `(^|[^A-Za-z0-9_.-])${program.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([^A-Za-z0-9_-]|$)`,
  );
  return chain.some((s) =>
    s.instructions.some((i: Instruction) => ["RUN", "COPY", "ADD"].includes(i.keyword) && word.test(i.args)),
  );
}

interface ImageSource {
  /** The base image at the bottom of the chain (or the image itself). */
  base?: string;
  /** Dockerfile stages on top of it, when the image is built from a linted Dockerfile. */
  chain: Stage[];
}

function missing(
  cmd: ProbeCommand,
  src: ImageSource,
): { program: string; family: string; install: string } | undefined {
  if (!src.base) return undefined;
  const facts = imageTools(src.base);
  if (!facts) return undefined;
  for (const n of needed(cmd)) {
    if (facts.ships.includes(n.name)) continue;
    const lacks = facts.lacks === "all-else" || facts.lacks.includes(n.name);
    if (lacks && !mentions(src.chain, n.name))
      return { program: n.name, family: facts.family, install: facts.install };
  }
  return undefined;
}

function describe(cmd: ProbeCommand): string {
  return cmd.form === "shell" ? cmd.script : cmd.argv.join(" ");
}

function dockerfileProbes(d: LoadedDockerfile, ctx: LintContext): void {
  const all = stages(d.lines);
  all.forEach((stage, i) => {
    for (const ins of stage.instructions) {
      if (ins.keyword !== "HEALTHCHECK") continue;
      const m = /^\s*(?:--\S+\s+)*CMD\s+/i.exec(ins.args);
      if (!m) continue;
      const rest = ins.args.slice(m[0].length);
      let cmd: ProbeCommand;
      if (rest.trimStart().startsWith("[")) {
        try {
          cmd = { form: "exec", argv: (JSON.parse(rest) as unknown[]).map(String) };
        } catch {
          continue;
        }
      } else cmd = { form: "shell", script: rest };
      const { chain, base } = stageChain(all, i);
      const miss = missing(cmd, { chain, ...(base ? { base } : {}) });
      if (!miss) continue;
      const at = ins.pos(m[0].length + Math.max(0, rest.search(/\S/)));
      ctx.add(
        "probe-binary-missing",
        `HEALTHCHECK runs ${miss.program}, which ${base} (${miss.family}) does not ship and this Dockerfile never installs: the check fails every time and the container is reported unhealthy forever; ${miss.install}`,
        d.file,
        at.line,
        at.column,
      );
    }
  });
}

/** What a Compose service or Kubernetes container runs on: a linted Dockerfile it builds, or its image. */
function sourceOf(c: ContainerRef, ctx: LintContext): ImageSource | undefined {
  const build = c.service?.build;
  if (build === undefined) return c.image ? { base: c.image, chain: [] } : undefined;
  const context = typeof build === "string" ? build : isPlain(build) ? (str(build.context) ?? ".") : ".";
  const file = isPlain(build) ? (str(build.dockerfile) ?? "Dockerfile") : "Dockerfile";
  const path = resolve(dirname(c.doc.file), context, file);
  const d = ctx.dockerfiles.find((x) => resolve(x.file) === path);
  if (!d) return undefined;
  const all = stages(d.lines);
  const target = isPlain(build) ? str(build.target) : undefined;
  const index = target ? all.findIndex((s) => s.alias === target) : all.length - 1;
  if (index < 0) return undefined;
  const { chain, base } = stageChain(all, index);
  return { chain, ...(base ? { base } : {}) };
}

type Probe = ContainerRef["probes"][number];
type MissingProgram = NonNullable<ReturnType<typeof missing>>;

/** What a probe that can never pass does to the workload, and what to do about it. */
function probeMessage(c: ContainerRef, p: Probe, src: ImageSource, miss: MissingProgram): string {
  const built = src.chain.length > 0 ? `its Dockerfile's base ${src.base}` : (c.image ?? "");
  const fix = c.k8s
    ? "use an httpGet, tcpSocket or grpc probe instead, or an image that has it"
    : miss.install;
  const effect = !c.k8s
    ? "the service stays unhealthy, and services that wait for service_healthy never start"
    : p.name === "readinessProbe"
      ? "the pod never becomes Ready"
      : "the kubelet restarts the container over and over";
  return `${c.owner}'s ${p.name} runs ${miss.program} (${describe(p.command)}), which ${built} (${miss.family}) does not ship${src.chain.length > 0 ? " and the Dockerfile never installs" : ""}: the check fails every time and ${effect}; ${fix}`;
}

function probeRule(ctx: LintContext): void {
  for (const d of ctx.dockerfiles) dockerfileProbes(d, ctx);
  for (const c of containers(ctx)) {
    if (c.probes.length === 0) continue;
    const src = sourceOf(c, ctx);
    if (!src) continue;
    for (const p of c.probes) {
      const miss = missing(p.command, src);
      if (miss) ctx.at(c.doc, p.path, "probe-binary-missing", probeMessage(c, p, src, miss));
    }
  }
}

export function imageRules(ctx: LintContext): void {
  commandRule(ctx);
  specifierRule(ctx);
  probeRule(ctx);
}
