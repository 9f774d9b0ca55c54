/**
 * Test-side BoltDB page writing, to build the few shapes real files do not show on demand (deep
 * nesting, overflow pages, a huge freelist, elements sharing bytes) and to damage real files in
 * known places. Follows bbolt's on-disk layout (internal/common: page.go, meta.go, bucket.go);
 * independent of src/blobinfocache/boltdb.ts, so a misreading there is not repeated here.
 */

const HEADER = 16;
const ELEMENT = 16;
export const BRANCH = 0x01;
export const LEAF = 0x02;
export const META = 0x04;
export const FREELIST = 0x10;

export function fnv64a(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffff_ffff_ffff_ffffn;
  return h;
}

export interface LeafItem {
  key: string | Buffer;
  /** A plain value, or a nested bucket's value (bucketValue / inlineBucket). */
  value: string | Buffer;
  bucket?: boolean;
}

export interface MetaFields {
  magic: number;
  version: number;
  pageSize: number;
  flags: number;
  root: bigint;
  sequence: bigint;
  freelist: bigint;
  highWaterMark: bigint;
  txid: bigint;
}

/** The meta of page `index` (0 or 1) of a file with `pageSize`. */
export function readMeta(file: Buffer, index: 0 | 1, pageSize: number): MetaFields {
  const at = index * pageSize + HEADER;
  return {
    magic: file.readUInt32LE(at),
    version: file.readUInt32LE(at + 4),
    pageSize: file.readUInt32LE(at + 8),
    flags: file.readUInt32LE(at + 12),
    root: file.readBigUInt64LE(at + 16),
    sequence: file.readBigUInt64LE(at + 24),
    freelist: file.readBigUInt64LE(at + 32),
    highWaterMark: file.readBigUInt64LE(at + 40),
    txid: file.readBigUInt64LE(at + 48),
  };
}

/** Writes meta fields into page `index` of `file` with a correct checksum (or `checksum` as given). */
export function writeMeta(file: Buffer, index: 0 | 1, pageSize: number, m: MetaFields, checksum?: bigint): void {
  const page = index * pageSize;
  file.writeBigUInt64LE(BigInt(index), page);
  file.writeUInt16LE(META, page + 8);
  const at = page + HEADER;
  file.writeUInt32LE(m.magic, at);
  file.writeUInt32LE(m.version, at + 4);
  file.writeUInt32LE(m.pageSize, at + 8);
  file.writeUInt32LE(m.flags, at + 12);
  file.writeBigUInt64LE(m.root, at + 16);
  file.writeBigUInt64LE(m.sequence, at + 24);
  file.writeBigUInt64LE(m.freelist, at + 32);
  file.writeBigUInt64LE(m.highWaterMark, at + 40);
  file.writeBigUInt64LE(m.txid, at + 48);
  file.writeBigUInt64LE(checksum ?? fnv64a(file.subarray(at, at + 56)), at + 56);
}

export interface PageHeader {
  id: number;
  flags: number;
  count: number;
  overflow: number;
}

/** Headers of pages 2 … hwm-1 that start a page (overflow continuations skipped). */
export function pageHeaders(file: Buffer, pageSize: number, highWaterMark: number): PageHeader[] {
  const out: PageHeader[] = [];
  for (let id = 2; id < highWaterMark; id++) {
    const at = id * pageSize;
    const h = {
      id: Number(file.readBigUInt64LE(at)),
      flags: file.readUInt16LE(at + 8),
      count: file.readUInt16LE(at + 10),
      overflow: file.readUInt32LE(at + 12),
    };
    out.push(h);
    id += h.overflow;
  }
  return out;
}

/** Page ids a freelist page lists. */
export function freelistIds(file: Buffer, pageSize: number, id: number): number[] {
  const at = id * pageSize;
  let count = file.readUInt16LE(at + 10);
  let first = at + HEADER;
  if (count === 0xffff) {
    count = Number(file.readBigUInt64LE(first));
    first += 8;
  }
  return Array.from({ length: count }, (_, i) => Number(file.readBigUInt64LE(first + i * 8)));
}

function bytes(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s) : s;
}

/** A leaf page's bytes (header id `id`), padded to whole pages when `pageSize` is given (inline pages are not). */
export function leafPage(id: number, items: readonly LeafItem[], pageSize?: number): Buffer {
  const data: Buffer[] = [];
  const elements = Buffer.alloc(items.length * ELEMENT);
  let dataAt = HEADER + items.length * ELEMENT;
  items.forEach((item, i) => {
    const key = bytes(item.key);
    const value = bytes(item.value);
    const at = HEADER + i * ELEMENT;
    elements.writeUInt32LE(item.bucket ? 1 : 0, i * ELEMENT);
    elements.writeUInt32LE(dataAt - at, i * ELEMENT + 4);
    elements.writeUInt32LE(key.length, i * ELEMENT + 8);
    elements.writeUInt32LE(value.length, i * ELEMENT + 12);
    data.push(key, value);
    dataAt += key.length + value.length;
  });
  return withHeader(id, LEAF, items.length, Buffer.concat([elements, ...data]), pageSize);
}

/** A branch page's bytes pointing at `children` (first key of each child). */
export function branchPage(id: number, children: readonly { key: string; page: number }[], pageSize: number): Buffer {
  const elements = Buffer.alloc(children.length * ELEMENT);
  const keys: Buffer[] = [];
  let dataAt = HEADER + children.length * ELEMENT;
  children.forEach((c, i) => {
    const key = Buffer.from(c.key);
    elements.writeUInt32LE(dataAt - (HEADER + i * ELEMENT), i * ELEMENT);
    elements.writeUInt32LE(key.length, i * ELEMENT + 4);
    elements.writeBigUInt64LE(BigInt(c.page), i * ELEMENT + 8);
    keys.push(key);
    dataAt += key.length;
  });
  return withHeader(id, BRANCH, children.length, Buffer.concat([elements, ...keys]), pageSize);
}

function withHeader(id: number, flags: number, count: number, body: Buffer, pageSize?: number): Buffer {
  const length =
    pageSize === undefined ? HEADER + body.length : Math.ceil((HEADER + body.length) / pageSize) * pageSize;
  const page = Buffer.alloc(length);
  page.writeBigUInt64LE(BigInt(id), 0);
  page.writeUInt16LE(flags, 8);
  page.writeUInt16LE(count, 10);
  page.writeUInt32LE(pageSize === undefined ? 0 : length / pageSize - 1, 12);
  body.copy(page, HEADER);
  return page;
}

/** A nested bucket's value: header with its root page. */
export function bucketValue(root: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(root), 0);
  return b;
}

/** A nested bucket stored inline: header with root 0, then its leaf page. */
export function inlineBucket(items: readonly LeafItem[]): Buffer {
  return Buffer.concat([bucketValue(0), leafPage(0, items)]);
}

/** A freelist page listing `ids` (the 0xFFFF extended count form when `extended`). */
export function freelistPage(id: number, ids: readonly number[], pageSize: number, extended = false): Buffer {
  const list = Buffer.alloc((ids.length + (extended ? 1 : 0)) * 8);
  if (extended) list.writeBigUInt64LE(BigInt(ids.length), 0);
  ids.forEach((p, i) => {
    list.writeBigUInt64LE(BigInt(p), (i + (extended ? 1 : 0)) * 8);
  });
  return withHeader(id, FREELIST, extended ? 0xffff : ids.length, list, pageSize);
}

/**
 * A whole file: two meta pages (txids 1 and 2, both valid unless changed later), then `pages`
 * (each placed at its header's id). The high-water mark is the first page after the last one.
 */
export function boltFile(
  pageSize: number,
  pages: readonly Buffer[],
  root: number,
  freelist: number | 'none' = 'none',
): Buffer {
  let end = 2;
  for (const p of pages) end = Math.max(end, Number(p.readBigUInt64LE(0)) + p.length / pageSize);
  const file = Buffer.alloc(end * pageSize);
  for (const p of pages) p.copy(file, Number(p.readBigUInt64LE(0)) * pageSize);
  const meta = (txid: bigint): MetaFields => ({
    magic: 0xed0cdaed,
    version: 2,
    pageSize,
    flags: 0,
    root: BigInt(root),
    sequence: 0n,
    freelist: freelist === 'none' ? 0xffff_ffff_ffff_ffffn : BigInt(freelist),
    highWaterMark: BigInt(end),
    txid,
  });
  writeMeta(file, 0, pageSize, meta(2n));
  writeMeta(file, 1, pageSize, meta(1n));
  return file;
}
