/**
 * Paged KV cache with prefix caching, after vLLM v1's `KVCacheManager` / `BlockPool`:
 * fixed-size blocks, a reference count per block, a hash per full block registered in a
 * lookup table, and a free queue in LRU order from which blocks are reused. A freed block keeps
 * its hash (and stays findable) until it is reused: that is the prefix cache.
 */

export class KvCache {
  readonly numBlocks: number;
  readonly blockSize: number;
  private readonly refCount: Int32Array;
  private readonly hashOf: (string | undefined)[];
  /** hash → block holding it. */
  private readonly cached = new Map<string, number>();
  /** Blocks with refCount 0, least recently freed first (Map keeps insertion order). */
  private readonly free = new Map<number, true>();

  constructor(numBlocks: number, blockSize = 16) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1)
      throw new RangeError(`numBlocks must be ≥ 1, got ${numBlocks}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Array(numBlocks).fill(undefined);
    for (let b = 0; b < numBlocks; b++) this.free.set(b, true);
  }

  get freeBlocks(): number {
    return this.free.size;
  }

  /** vLLM's `kv_cache_usage_perc`: share of blocks held by requests (cached free blocks count as free). */
  get usage(): number {
    return 1 - this.free.size / this.numBlocks;
  }

  /** Longest run of leading blocks already cached, without taking them. */
  peekHits(keys: readonly string[]): number {
    let n = 0;
    for (const key of keys) {
      if (!this.cached.has(key)) break;
      n++;
    }
    return n;
  }

  /** Takes the cached blocks for the leading `keys` (stops at the first miss); returns their ids. */
  takeHits(keys: readonly string[]): number[] {
    const out: number[] = [];
    for (const key of keys) {
      const b = this.cached.get(key);
      if (b === undefined) break;
      if (this.refCount[b] === 0) this.free.delete(b);
      this.refCount[b] = (this.refCount[b] ?? 0) + 1;
      out.push(b);
    }
    return out;
  }

  /** Allocates `n` fresh blocks, evicting the least recently freed; `null` (and nothing taken) if too few. */
  allocate(n: number): number[] | null {
    if (n > this.free.size) return null;
    const out: number[] = [];
    for (const b of this.free.keys()) {
      if (out.length === n) break;
      out.push(b);
    }
    for (const b of out) {
      this.free.delete(b);
      const h = this.hashOf[b];
      if (h !== undefined) {
        if (this.cached.get(h) === b) this.cached.delete(h);
        this.hashOf[b] = undefined;
      }
      this.refCount[b] = 1;
    }
    return out;
  }

  /** Marks a full block as holding `key`, so later requests can reuse it. */
  register(block: number, key: string): void {
    if (this.hashOf[block] !== undefined) return;
    if (this.cached.has(key)) return; // an identical block exists already; this one stays private
    this.hashOf[block] = key;
    this.cached.set(key, block);
  }

  /** Releases a request's blocks; the tail is freed first so that it is evicted first (as vLLM). */
  release(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i] as number;
      const rc = (this.refCount[b] ?? 0) - 1;
      this.refCount[b] = rc;
      if (rc === 0) this.free.set(b, true);
      else if (rc < 0) throw new Error(`block ${b} released twice`);
    }
  }

  /** Drops every cached hash (vLLM's reset_prefix_cache). */
  resetPrefixCache(): void {
    for (const [h, b] of this.cached) {
      if (this.refCount[b] === 0) {
        this.cached.delete(h);
        this.hashOf[b] = undefined;
      }
    }
  }
}
