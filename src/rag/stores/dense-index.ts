/**
 * Exact cosine kNN over a collection's vectors held in WebAssembly memory and scanned with
 * 128-bit SIMD (f32x4): about four times faster than sqlite-vec's scan of the same vectors on
 * this project's machines (see docs/benchmarks.md), and exact like it. Rows are normalised
 * once, so a dot product is the cosine similarity.
 *
 * The module is this WAT, compiled with wabt 1.0.37 (simd enabled):
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "dots") (param $rows i32) (param $q i32) (param $out i32) (param $n i32) (param $dim i32)
 *       (local $i i32) (local $j i32) (local $row i32) (local $bytes i32) (local $acc v128)
 *       (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
 *       (local.set $row (local.get $rows))
 *       (block $done (loop $each_row
 *         (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
 *         (local.set $acc (v128.const f32x4 0 0 0 0))
 *         (local.set $j (i32.const 0))
 *         (block $row_done (loop $each_lane
 *           (br_if $row_done (i32.ge_u (local.get $j) (local.get $bytes)))
 *           (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul
 *             (v128.load (i32.add (local.get $row) (local.get $j)))
 *             (v128.load (i32.add (local.get $q) (local.get $j))))))
 *           (local.set $j (i32.add (local.get $j) (i32.const 16)))
 *           (br $each_lane)))
 *         (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
 *           (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
 *                    (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
 *         (local.set $row (i32.add (local.get $row) (local.get $bytes)))
 *         (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *         (br $each_row))))
 *   )
 */
const WASM = Buffer.from(
  "AGFzbQEAAAABCQFgBX9/f39/AAMCAQAFAwEAAQcRAgZtZW1vcnkCAARkb3RzAAAKnQEBmgECBH8BeyAEQQJ0IQggACEHAkADQCAFIANPDQH9DAAAAAAAAAAAAAAAAAAAAAAhCUEAIQYCQANAIAYgCE8NASAJIAcgBmr9AAQAIAEgBmr9AAQA/eYB/eQBIQkgBkEQaiEGDAALCyACIAVBAnRqIAn9HwAgCf0fAZIgCf0fAiAJ/R8DkpI4AgAgByAIaiEHIAVBAWohBQwACwsL",
  "base64",
);
// Node has WebAssembly; this project's TypeScript lib (ES2023, no DOM) does not declare it.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: Wasm };
const MODULE = new wasm.Module(WASM);
const PAGE = 65_536;

export interface DenseEntry {
  rid: number;
  vector: Float32Array;
  source: string;
  ts: number;
}

export interface DenseFilter {
  sources?: ReadonlySet<string>;
  from?: number;
  to?: number;
}

export class DenseIndex {
  private readonly dots: (rows: number, q: number, out: number, n: number, dim: number) => void;
  private readonly memory: WasmMemory;
  private readonly dim: number;
  private readonly rids: Float64Array;
  private readonly sources: string[];
  private readonly ts: Float64Array;
  private readonly qOffset: number;
  private readonly outOffset: number;

  private constructor(entries: DenseEntry[], dimensions: number) {
    const n = entries.length;
    this.dim = Math.ceil(dimensions / 4) * 4;
    const instance = new wasm.Instance(MODULE, {});
    this.memory = instance.exports.memory as WasmMemory;
    this.dots = instance.exports.dots as DenseIndex["dots"];
    this.qOffset = n * this.dim * 4;
    this.outOffset = this.qOffset + this.dim * 4;
    const bytes = this.outOffset + n * 4;
    const pages = Math.ceil(bytes / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
    const rows = new Float32Array(this.memory.buffer, 0, n * this.dim);
    this.rids = new Float64Array(n);
    this.ts = new Float64Array(n);
    this.sources = new Array<string>(n);
    entries.forEach((e, i) => {
      let norm = 0;
      for (const x of e.vector) norm += x * x;
      norm = Math.sqrt(norm) || 1;
      const base = i * this.dim;
      for (let j = 0; j < e.vector.length; j++) rows[base + j] = (e.vector[j] as number) / norm;
      this.rids[i] = e.rid;
      this.ts[i] = e.ts;
      this.sources[i] = e.source;
    });
  }

  /** Undefined when the vectors would take more than maxBytes of memory (the caller scans in SQL). */
  static build(
    entries: DenseEntry[],
    dimensions: number,
    maxBytes = 512 * 1024 * 1024,
  ): DenseIndex | undefined {
    return DenseIndex.fits(entries.length, dimensions, maxBytes)
      ? new DenseIndex(entries, dimensions)
      : undefined;
  }

  /** Whether n vectors of this size stay within maxBytes (an empty collection always fits). */
  static fits(n: number, dimensions: number, maxBytes = 512 * 1024 * 1024): boolean {
    return n === 0 || n * Math.ceil(dimensions / 4) * 16 <= maxBytes;
  }

  get size(): number {
    return this.rids.length;
  }

  /** The k best rows by cosine similarity, best first (ties: lower rowid). */
  search(query: Float32Array, k: number, filter: DenseFilter = {}): { rid: number; score: number }[] {
    const n = this.rids.length;
    if (n === 0 || k <= 0) return [];
    let norm = 0;
    for (const x of query) norm += x * x;
    norm = Math.sqrt(norm) || 1;
    const q = new Float32Array(this.memory.buffer, this.qOffset, this.dim);
    q.fill(0);
    for (let j = 0; j < query.length; j++) q[j] = (query[j] as number) / norm;
    this.dots(0, this.qOffset, this.outOffset, n, this.dim);
    const scores = new Float32Array(this.memory.buffer, this.outOffset, n);
    const best: { rid: number; score: number }[] = [];
    let floor = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const s = scores[i] as number;
      if (best.length >= k && s < floor) continue;
      if (filter.sources && !filter.sources.has(this.sources[i] as string)) continue;
      const t = this.ts[i] as number;
      if ((filter.from !== undefined && t < filter.from) || (filter.to !== undefined && t > filter.to))
        continue;
      best.push({ rid: this.rids[i] as number, score: s });
      if (best.length > 4 * k) {
        best.sort((a, b) => b.score - a.score || a.rid - b.rid);
        best.length = k;
        floor = (best[k - 1] as { score: number }).score;
      }
    }
    best.sort((a, b) => b.score - a.score || a.rid - b.rid);
    return best.slice(0, k);
  }
}
