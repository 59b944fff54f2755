/**
 * A small, fast reader of the Prometheus text exposition format (0.0.4; OpenMetrics text reads
 * too): `name{label="value",…} value [timestamp]` per line. Comments (`# HELP`, `# TYPE`,
 * `# EOF`), blank lines, timestamps and OpenMetrics exemplars are skipped.
 *
 * It runs off the request path (a load scraper calls it every few hundred ms per endpoint), but
 * vLLM's /metrics carries hundreds of histogram bucket lines, so a caller that names the
 * series it wants (`names`) skips every other line after reading its name, without parsing
 * labels or the value.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParseOptions {
  /** Only samples of these metric names (exact, e.g. `vllm:num_requests_running`) are returned. */
  names?: ReadonlySet<string>;
}

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const BRACE_OPEN = 123;
const NEWLINE = 10;

/**
 * Every sample of `text` (or of the names asked for: then grouped by name). Malformed lines are
 * skipped.
 */
export function parsePrometheusText(text: string, opts: ParseOptions = {}): Sample[] {
  const out: Sample[] = [];
  forEachSample(text, opts.names, (s) => {
    out.push(s);
  });
  return out;
}

/**
 * Calls `fn` for every sample whose name is in `names` (every sample, in text order, when
 * `names` is undefined; grouped by name, in the set's order, when it is given). The
 * allocation-light core of {@link parsePrometheusText}.
 */
export function forEachSample(
  text: string,
  names: ReadonlySet<string> | undefined,
  fn: (sample: Sample) => void,
): void {
  if (names !== undefined) {
    // Few names wanted (the load reader wants 3–6 of hundreds of series): find each with the
    // engine's native substring search instead of walking every line in JS.
    for (const name of names) findSamples(text, name, fn);
    return;
  }
  const len = text.length;
  let pos = 0;
  while (pos < len) {
    let end = text.indexOf("\n", pos);
    if (end === -1) end = len;
    const lineStart = skipBlanks(text, pos, end);
    pos = end + 1;
    if (lineStart >= end || text.charCodeAt(lineStart) === HASH) continue;
    // Name: up to `{`, a blank, or the end of the line.
    let i = lineStart;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === BRACE_OPEN || c === SPACE || c === TAB) break;
      i++;
    }
    parseRest(text, text.slice(lineStart, i), i, end, fn);
  }
}

/** Every sample line of metric `name` (at a line start, followed by `{` or a blank). */
function findSamples(text: string, name: string, fn: (sample: Sample) => void): void {
  if (name.length === 0) return;
  let from = 0;
  for (;;) {
    const at = text.indexOf(name, from);
    if (at === -1) return;
    from = at + name.length;
    if (at > 0) {
      // At a line start, possibly after indentation.
      let b = at - 1;
      while (b >= 0 && (text.charCodeAt(b) === SPACE || text.charCodeAt(b) === TAB)) b--;
      if (b >= 0 && text.charCodeAt(b) !== NEWLINE) continue;
    }
    const next = text.charCodeAt(from);
    if (next !== BRACE_OPEN && next !== SPACE && next !== TAB) continue; // a longer name (`_bucket`)
    let end = text.indexOf("\n", from);
    if (end === -1) end = text.length;
    parseRest(text, name, from, end, fn);
    from = end;
  }
}

/** Parses the labels and value of a sample line after its name (index `i`), up to `end`. */
function parseRest(
  text: string,
  name: string,
  from: number,
  end: number,
  fn: (sample: Sample) => void,
): void {
  let i = from;
  let labels: Record<string, string> = {};
  if (i < end && text.charCodeAt(i) === BRACE_OPEN) {
    const parsed = parseLabels(text, i + 1, end);
    if (parsed === undefined) return; // malformed label set
    labels = parsed.labels;
    i = parsed.next;
  }
  i = skipBlanks(text, i, end);
  let j = i;
  while (j < end) {
    const c = text.charCodeAt(j);
    if (c === SPACE || c === TAB || c === 13) break;
    j++;
  }
  if (j === i) return; // no value
  const value = parseValue(text.slice(i, j));
  if (value === undefined) return;
  fn({ name, labels, value });
}

function skipBlanks(text: string, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB) break;
    i++;
  }
  return i;
}

/** Parses `a="x",b="y"}` starting after `{`; returns the labels and the index after `}`. */
function parseLabels(
  text: string,
  from: number,
  end: number,
): { labels: Record<string, string>; next: number } | undefined {
  const labels: Record<string, string> = {};
  let i = from;
  for (;;) {
    i = skipSeparators(text, i, end);
    if (i >= end) return undefined;
    if (text.charCodeAt(i) === 125 /* } */) return { labels, next: i + 1 };
    const eq = text.indexOf("=", i);
    if (eq === -1 || eq >= end) return undefined;
    const key = text.slice(i, eq).trim();
    i = skipBlanks(text, eq + 1, end);
    if (text.charCodeAt(i) !== 34 /* " */) return undefined;
    i++;
    let value = "";
    let chunkStart = i;
    for (;;) {
      if (i >= end) return undefined;
      const c = text.charCodeAt(i);
      if (c === 34) {
        value += text.slice(chunkStart, i);
        i++;
        break;
      }
      if (c === 92 /* \ */) {
        value += text.slice(chunkStart, i);
        const next = text.charCodeAt(i + 1);
        value += next === 110 /* n */ ? "\n" : text.charAt(i + 1);
        i += 2;
        chunkStart = i;
        continue;
      }
      i++;
    }
    labels[key] = value;
  }
}

function skipSeparators(text: string, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== TAB && c !== 44 /* , */ && c !== NEWLINE) break;
    i++;
  }
  return i;
}

function parseValue(token: string): number | undefined {
  switch (token) {
    case "NaN":
      return Number.NaN;
    case "+Inf":
    case "Inf":
      return Number.POSITIVE_INFINITY;
    case "-Inf":
      return Number.NEGATIVE_INFINITY;
  }
  const v = Number(token);
  return Number.isNaN(v) ? undefined : v;
}
