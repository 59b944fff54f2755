/**
 * Fast non-cryptographic string hashes for the routing layer (hash rings, sticky sessions).
 * Deterministic across processes and gateway replicas: they hash UTF-16 code units, so the
 * same string gives the same value on every Node.js; never use them for anything secret.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over the UTF-16 code units of `s[0, end)`, finished with MurmurHash3's fmix32
 * (plain FNV-1a spreads similar short keys such as `host#1`, `host#2` poorly over a ring).
 * `seed` gives independent hash families (weighted rendezvous hashing); `end` hashes a
 * prefix without slicing the string. Returns an unsigned 32-bit integer.
 */
export function hash32(s: string, seed = 0, end = s.length): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  const n = Math.min(end, s.length);
  for (let i = 0; i < n; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}

/** MurmurHash3's 32-bit finalizer: full avalanche of the input bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 53-bit hash (cyrb53: two 32-bit multiply–xor lanes), exact as a JavaScript number, for
 * where 32 bits collide too often (many keys). Same `seed` and `end` conventions as hash32.
 */
export function hash53(s: string, seed = 0, end = s.length): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  const n = Math.min(end, s.length);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A hash as a uniform fraction in the open interval (0, 1) (never 0: safe under `Math.log`). */
export function unitInterval(h32: number): number {
  return ((h32 >>> 0) + 0.5) / 4294967296;
}
