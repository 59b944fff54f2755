/**
 * Reads named entries out of a zip (a Maven jar) held in memory: the central directory gives
 * each entry's method and sizes, the local header its data offset. Stored (0) and deflated (8)
 * entries only, which is all a jar uses. No zip64: jars of model files stay below 4 GiB.
 */
import { inflateRawSync } from "node:zlib";
import { InferplaneError } from "../../errors.js";

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function bad(what: string): never {
  throw new InferplaneError("model_files_invalid", `not a readable zip: ${what}`);
}

/** The entries named in `names`, by name; throws when one is missing. */
export function readZipEntries(zip: Buffer, names: readonly string[]): Map<string, Buffer> {
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) bad("no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const wanted = new Set(names);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== CENTRAL) bad(`central directory entry ${n}`);
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (!wanted.has(name)) continue;
    if (zip.readUInt32LE(local) !== LOCAL) bad(`local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    const data =
      method === 0 ? Buffer.from(raw) : method === 8 ? inflateRawSync(raw) : bad(`${name}: method ${method}`);
    if (data.length !== size) bad(`${name}: ${data.length} bytes, the directory says ${size}`);
    out.set(name, data);
  }
  for (const name of names) if (!out.has(name)) bad(`no entry ${name}`);
  return out;
}
