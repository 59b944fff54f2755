/**
 * Just enough POSIX shell reading for lint: where a `>` or `<` sits outside quotes inside a
 * word that looks like a version specifier, and which programs a script runs.
 */

export interface UnquotedSpecifier {
  /** The whole word as written, e.g. `transformers>=4.45.0`. */
  token: string;
  /** Offset of the word in the script. */
  offset: number;
  /** The operator the shell takes for a redirect: `>` or `<`. */
  op: ">" | "<";
  /** The package part before the operator (`transformers`, `lodash@`). */
  name: string;
  /** What the shell takes as the redirect's file name (`=4.45.0`). */
  file: string;
}

interface Word {
  raw: string;
  offset: number;
  /** Offsets (in the script) of `<` and `>` that are outside quotes and not escaped. */
  bare: number[];
}

const OPERATORS = new Set([";", "&", "|", "(", ")", "\n"]);

/** Index of the quote that closes the one at `open` (the script's length when none does). */
function closingQuote(script: string, open: number): number {
  const quote = script[open];
  for (let i = open + 1; i < script.length; i++) {
    const ch = script[i];
    // A backslash escapes inside double quotes only.
    if (quote === '"' && ch === "\\") i++;
    else if (ch === quote) return i;
  }
  return script.length;
}

/** Words of a script with the position of each unquoted redirect character. */
function words(script: string): { words: Word[]; breaks: Set<number> } {
  const out: Word[] = [];
  // Indices into `out` of words that start a new simple command.
  const breaks = new Set<number>();
  let start = -1;
  let bare: number[] = [];
  const close = (end: number) => {
    if (start >= 0) out.push({ raw: script.slice(start, end), offset: start, bare });
    start = -1;
    bare = [];
  };
  for (let i = 0; i < script.length; i++) {
    const ch = script[i] ?? "";
    if (/\s/.test(ch) || OPERATORS.has(ch)) {
      close(i);
      if (OPERATORS.has(ch)) breaks.add(out.length);
      continue;
    }
    if (start < 0) start = i;
    if (ch === "\\") i++;
    else if (ch === "'" || ch === '"') i = closingQuote(script, i);
    else if (ch === "<" || ch === ">") bare.push(i);
  }
  close(script.length);
  return { words: out, breaks };
}

// A package name (pip `name[extra]`, npm `@scope/name@`) holds a letter; a file descriptor does not.
const PACKAGE = /^(@[A-Za-z0-9._-]+\/)?[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]*\])?@?$/;

/**
 * Version specifiers (`pkg>=1.2`, `pkg<2`, `pkg@>=4`) left unquoted: the shell splits them at the
 * operator and redirects, so the package installs unpinned (`>`) or the command fails (`<`).
 */
export function unquotedVersionSpecifiers(script: string): UnquotedSpecifier[] {
  const out: UnquotedSpecifier[] = [];
  for (const w of words(script).words) {
    const first = w.bare[0];
    if (first === undefined) continue;
    const name = script.slice(w.offset, first);
    if (!PACKAGE.test(name) || !/[A-Za-z]/.test(name)) continue;
    const op = script[first] as ">" | "<";
    // `>=1.2`, `>1`, `<=2`, `<2.0`: a version follows; `>&2`, `>>log`, `<<EOF` are redirects meant as such.
    const rest = script.slice(first + 1, w.offset + w.raw.length);
    if (!/^=?\s*v?[0-9]/.test(rest)) continue;
    out.push({ token: w.raw, offset: w.offset, op, name, file: rest.split(/[<>]/)[0] ?? rest });
  }
  return out;
}

// Words that run no program of their own, or that run the next word.
const BUILTINS = new Set([
  "exit",
  "return",
  "true",
  "false",
  ":",
  "test",
  "[",
  "[[",
  "echo",
  "printf",
  "cd",
  "export",
  "set",
  "unset",
  "read",
  "if",
  "then",
  "else",
  "elif",
  "fi",
  "do",
  "done",
  "while",
  "until",
  "for",
  "case",
  "esac",
  "!",
  "{",
  "}",
  "sleep",
  "kill",
  "wait",
  "trap",
  "eval",
  ".",
  "source",
]);
const WRAPPERS = new Set(["exec", "command", "nice", "nohup", "env"]);

/** Programs a script runs: the first word of each simple command, builtins and assignments skipped. */
export function programs(script: string): { name: string; offset: number }[] {
  const { words: list, breaks } = words(script);
  const out: { name: string; offset: number }[] = [];
  let atStart = true;
  list.forEach((w, i) => {
    if (breaks.has(i)) atStart = true;
    if (!atStart) return;
    const word = w.raw.replace(/^["']|["']$/g, "");
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) || WRAPPERS.has(word) || word === "") return;
    // `timeout 5 curl …`: the duration is not a program.
    if (word === "timeout" || /^[0-9.]+[smhd]?$/.test(word)) return;
    atStart = false;
    if (BUILTINS.has(word) || word.startsWith("$") || word.startsWith("-")) return;
    out.push({ name: word, offset: w.offset });
  });
  return out;
}

/** `/usr/bin/curl` → `curl`. */
export function programName(word: string): string {
  return word.slice(word.lastIndexOf("/") + 1);
}
