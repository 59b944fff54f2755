/**
 * A Dockerfile as instructions and stages, each instruction with its continuation lines joined
 * and a map back to the line and column of every character, so a finding can point at the
 * token itself rather than at the instruction's first line.
 */

export interface Instruction {
  /** Upper-cased: RUN, FROM, HEALTHCHECK, … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space; a heredoc's body. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
  /** [from, to) ranges of `args` that are heredoc bodies given to a program as data, not run as shell. */
  data: [number, number][];
  /** 1-based line and column of `args[offset]`. */
  pos(offset: number): { line: number; column: number };
}

export interface Stage {
  /** The image or earlier stage it starts from, as written (ARGs substituted when declared). */
  from: string;
  alias?: string;
  instructions: Instruction[];
}

interface Piece {
  at: number;
  line: number;
  column: number;
}

/** An instruction's text as it is assembled, with the line and column each piece came from. */
class ArgsText {
  text = "";
  readonly pieces: Piece[] = [];
  append(text: string, line: number, column: number): void {
    this.pieces.push({ at: this.text.length, line, column });
    this.text += text;
  }
}

/**
 * The keyword line's text and its `\` continuation lines, joined with a space; returns the index
 * of the first line after them.
 */
function readContinued(
  lines: readonly string[],
  start: number,
  first: string,
  args: ArgsText,
  column: number,
) {
  let i = start;
  let text = first;
  let col = column;
  for (;;) {
    const cont = /\\\s*$/.test(text);
    args.append(cont ? text.replace(/\\\s*$/, "") : text, i + 1, col);
    i++;
    if (!cont) return i;
    // Comment lines inside a continuation are dropped by the builder; blank ones too.
    while (i < lines.length && /^\s*(#.*)?$/.test(lines[i] ?? "")) i++;
    if (i >= lines.length) return i;
    args.text += " ";
    text = lines[i] ?? "";
    col = 1;
  }
}

/**
 * Heredocs (`RUN <<EOF`, `RUN cat > f <<-EOF`): their bodies follow, up to the terminator, and
 * belong to the instruction. A body is shell when it is the RUN's script itself or is fed to a
 * shell; otherwise (cat > file <<EOF, python3 <<EOF) it is data. Returns the first line after the
 * last body and the data ranges.
 */
function readHeredocs(keyword: string, lines: readonly string[], start: number, args: ArgsText) {
  const data: [number, number][] = [];
  let i = start;
  if (keyword !== "RUN" && keyword !== "COPY") return { next: i, data };
  const head = args.text;
  for (const h of head.matchAll(/<<-?(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g)) {
    const end = h[2] ?? "";
    const before = head.slice(0, h.index);
    const script =
      keyword === "RUN" && /^\s*(--\S+\s+)*$|(^|[\s;&|])(sh|bash|ash|dash)(\s+-\S+)*\s*$/.test(before);
    args.text += "\n";
    const from = args.text.length;
    while (i < lines.length && (lines[i] ?? "").trim() !== end) {
      args.append(`${lines[i] ?? ""}\n`, i + 1, 1);
      i++;
    }
    if (!script) data.push([from, args.text.length]);
    i++;
  }
  return { next: i, data };
}

/** Offset in the joined text → the line and column it was written at. */
function positionsOf(pieces: readonly Piece[], line: number): Instruction["pos"] {
  const frozen = [...pieces];
  return (offset) => {
    let p = frozen[0] ?? { at: 0, line, column: 1 };
    for (const q of frozen) if (q.at <= offset) p = q;
    return { line: p.line, column: p.column + Math.max(0, offset - p.at) };
  };
}

/** Instructions in order; comments and parser directives dropped. */
export function instructions(lines: readonly string[]): Instruction[] {
  const out: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const first = lines[i] ?? "";
    const m = /^(\s*)([A-Za-z]+)(\s+|$)/.exec(first);
    if (!m || /^\s*#/.test(first)) {
      i++;
      continue;
    }
    const keyword = (m[2] ?? "").toUpperCase();
    const start = i;
    const args = new ArgsText();
    i = readContinued(lines, i, first.slice(m[0].length), args, m[0].length + 1);
    const heredocs = readHeredocs(keyword, lines, i, args);
    i = heredocs.next;
    out.push({
      keyword,
      args: args.text,
      line: start + 1,
      data: heredocs.data,
      pos: positionsOf(args.pieces, start + 1),
    });
  }
  return out;
}

/** The stages of a Dockerfile; `FROM ${BASE}` resolves through ARGs declared before the first FROM. */
export function stages(lines: readonly string[]): Stage[] {
  const out: Stage[] = [];
  const args = new Map<string, string>();
  for (const ins of instructions(lines)) {
    if (ins.keyword === "ARG" && out.length === 0) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=("?)([^"\s]*)\2/.exec(ins.args);
      if (m?.[1] && m[3] !== undefined) args.set(m[1], m[3]);
      continue;
    }
    if (ins.keyword === "FROM") {
      const words = ins.args
        .trim()
        .split(/\s+/)
        .filter((w) => !w.startsWith("--"));
      const from = (words[0] ?? "").replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (all, name: string) => args.get(name) ?? all,
      );
      const alias = words[1]?.toLowerCase() === "as" ? words[2] : undefined;
      out.push({ from, ...(alias ? { alias } : {}), instructions: [] });
      continue;
    }
    out.at(-1)?.instructions.push(ins);
  }
  return out;
}

/**
 * The chain a stage builds on: the stage, then the stage it starts FROM, and so on; `base` is
 * the image at the bottom (undefined when it cannot be known, e.g. an unresolved ARG).
 */
export function stageChain(all: readonly Stage[], index: number): { chain: Stage[]; base?: string } {
  const chain: Stage[] = [];
  let cur = all[index];
  while (cur && !chain.includes(cur)) {
    chain.push(cur);
    const from = cur.from;
    const parent = all.find(
      (s, i) => i < all.indexOf(cur as Stage) && s.alias?.toLowerCase() === from.toLowerCase(),
    );
    if (!parent) return from.includes("$") ? { chain } : { chain, base: from };
    cur = parent;
  }
  return { chain };
}
