/**
 * A read-only BoltDB reader (the file format of go.etcd.io/bbolt, format version 2), enough to
 * walk every key/value pair of a database once. No write support, no locking: the file is read
 * into memory in one go and parsed from that copy.
 *
 * The format, as bbolt writes it (little-endian, as on every platform containers/image ships for):
 * - The file is a sequence of pages of `pageSize` bytes; page N starts at N × pageSize. Every page
 *   begins with a 16-byte header: id u64, flags u16 (0x01 branch, 0x02 leaf, 0x04 meta,
 *   0x10 freelist), count u16, overflow u32 (a page spans 1 + overflow pages).
 * - Pages 0 and 1 are meta pages: magic 0xED0CDAED, version 2, pageSize, flags, the root bucket
 *   (root page id u64, sequence u64), freelist page id, high-water mark (first unused page id),
 *   txid, and an FNV-64a checksum of the fields before it. The valid meta with the higher txid is
 *   the current one; the other is the previous transaction's, still intact (bbolt's DB.meta).
 * - A bucket is a B+tree: branch pages hold (pos u32, ksize u32, child page id u64) elements,
 *   leaf pages hold (flags u32, pos u32, ksize u32, vsize u32) elements; pos counts from the
 *   element's own offset. A leaf element with flag 0x01 is a nested bucket whose value is a bucket
 *   header (root page id, sequence), followed, when the root id is 0, by an inline leaf page.
 * - The freelist page lists free page ids (a count of 0xFFFF means the real count is the first u64).
 *
 * The file is treated as hostile: every page id, offset, size and count is checked against the
 * file before it is used, each page may be reached once (no cycles, no page shared by two
 * parents, no page that the freelist calls free), and nesting is bounded. A file that breaks a rule
 * is an INVALID_BOLTDB error naming the file and the rule (`details.rule`).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { FerryError } from '../errors.js';

/** What a BoltDB file holds: one key/value pair with the names of the buckets around it, outermost first. */
export interface BoltDBEntry {
  buckets: readonly Buffer[];
  key: Buffer;
  value: Buffer;
}

/** Facts about the file, from the meta page that was used. */
export interface BoltDBInfo {
  pageSize: number;
  /** The transaction id of the meta page used (the higher valid one). */
  txid: bigint;
  /** The high-water mark: pages the database uses (meta pages included). */
  pageCount: number;
  /** The file's size and modification time when it was read. */
  size: number;
  mtimeNs: bigint;
}

/** Which rule a damaged file broke (`details.rule` of the INVALID_BOLTDB error). */
export type BoltDBRule =
  | 'file-too-large'
  | 'magic'
  | 'version'
  | 'meta-checksum'
  | 'page-size'
  | 'meta-fields'
  | 'truncated'
  | 'page-id'
  | 'page-header'
  | 'page-type'
  | 'page-bounds'
  | 'page-reused'
  | 'page-free'
  | 'element-bounds'
  | 'bucket-header'
  | 'depth'
  | 'freelist';

/** The largest file this reader loads (a blob-info cache is a few MiB; more is not a cache this reader should trust). */
export const MAX_BOLTDB_FILE_BYTES = 512 * 1024 * 1024;
/** Branch levels plus bucket nesting allowed on one path from the root (bbolt trees are a handful deep). */
export const MAX_BOLTDB_DEPTH = 64;

const MAGIC = 0xed0cdaed;
const FORMAT_VERSION = 2;
const PAGE_HEADER_SIZE = 16;
const ELEMENT_SIZE = 16;
const BUCKET_HEADER_SIZE = 16;
/** The meta fields covered by the checksum (magic … txid), after the page header. */
const META_CHECKSUMMED_SIZE = 56;
const META_SIZE = META_CHECKSUMMED_SIZE + 8;
const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const FREELIST_PAGE = 0x10;
const BUCKET_LEAF_FLAG = 0x01;
const NO_FREELIST = 0xffff_ffff_ffff_ffffn;
/** bbolt looks for the second meta page at 1 KiB << i for i ≤ 14 when the first one is unreadable. */
const MIN_PAGE_SIZE = 1024;
const MAX_PAGE_SIZE = 1024 << 14;
const READ_ATTEMPTS = 3;

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const U64 = 0xffff_ffff_ffff_ffffn;

interface Meta {
  pageSize: number;
  root: bigint;
  freelist: bigint;
  highWaterMark: bigint;
  txid: bigint;
}

type MetaProblem = 'magic' | 'version' | 'meta-checksum' | 'page-size';

/** A page to walk, with how errors name it; an inline bucket's page is always a leaf. */
interface Node {
  page: Buffer;
  where: string;
  inline: boolean;
}

/**
 * Calls `visit` for every key/value pair in the BoltDB file at `path` (buckets are entered, not
 * reported), in key order within each bucket. Throws INVALID_BOLTDB when the file breaks a format
 * rule, CACHE_UNAVAILABLE when it cannot be read at all.
 */
export function walkBoltDB(path: string, visit: (entry: BoltDBEntry) => void): BoltDBInfo {
  const { bytes, size, mtimeNs } = readWholeFile(path);
  const db = new BoltDBFile(path, bytes);
  db.walk(visit);
  return { pageSize: db.meta.pageSize, txid: db.meta.txid, pageCount: Number(db.meta.highWaterMark), size, mtimeNs };
}

/** The file's bytes, read again when it changed while being read (a writer committing meanwhile). */
function readWholeFile(path: string): { bytes: Buffer; size: number; mtimeNs: bigint } {
  let fd: number;
  try {
    // Non-blocking, so that a FIFO put where the file should be cannot stall the open (it is refused below).
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new FerryError('CACHE_UNAVAILABLE', `cannot read the BoltDB file ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
  try {
    for (let attempt = 1; ; attempt++) {
      const before = fstatSync(fd, { bigint: true });
      if (!before.isFile()) {
        throw new FerryError('CACHE_UNAVAILABLE', `cannot read the BoltDB file ${path}: it is not a regular file`, {
          details: { path },
        });
      }
      if (before.size > BigInt(MAX_BOLTDB_FILE_BYTES)) {
        invalid(
          path,
          'file-too-large',
          `it is ${before.size} bytes; this reader loads at most ${MAX_BOLTDB_FILE_BYTES}`,
        );
      }
      const size = Number(before.size);
      const bytes = Buffer.alloc(size);
      let filled = 0;
      while (filled < size) {
        const n = readSync(fd, bytes, filled, size - filled, filled);
        if (n === 0) break;
        filled += n;
      }
      const after = fstatSync(fd, { bigint: true });
      if (filled === size && after.size === before.size && after.mtimeNs === before.mtimeNs) {
        return { bytes, size, mtimeNs: before.mtimeNs };
      }
      if (attempt === READ_ATTEMPTS) {
        throw new FerryError(
          'CACHE_UNAVAILABLE',
          `cannot read the BoltDB file ${path}: it changed while being read, ${READ_ATTEMPTS} times`,
          { details: { path } },
        );
      }
    }
  } finally {
    closeSync(fd);
  }
}

function invalid(path: string, rule: BoltDBRule, why: string, details: Record<string, unknown> = {}): never {
  throw new FerryError('INVALID_BOLTDB', `${path} is not a usable BoltDB file: ${why}`, {
    details: { path, rule, ...details },
  });
}

class BoltDBFile {
  readonly meta: Meta;
  readonly #path: string;
  readonly #bytes: Buffer;
  /** Pages reached so far (each may be reached once); overflow pages count as reached with their first. */
  readonly #reached = new Set<number>();
  readonly #free = new Set<number>();
  #elements = 0;

  constructor(path: string, bytes: Buffer) {
    this.#path = path;
    this.#bytes = bytes;
    this.meta = this.#currentMeta();
    this.#readFreelist();
  }

  walk(visit: (entry: BoltDBEntry) => void): void {
    const page = this.#page(this.meta.root, 'the root bucket');
    this.#walkNode({ page, where: `page ${this.meta.root}`, inline: false }, [], 1, visit);
  }

  #fail(rule: BoltDBRule, why: string, details: Record<string, unknown> = {}): never {
    invalid(this.#path, rule, why, details);
  }

  /** The current meta page: the valid one with the higher txid (bbolt's DB.meta), its fields checked. */
  #currentMeta(): Meta {
    const pageSize = this.#pageSize();
    const candidates: Meta[] = [];
    const problems: MetaProblem[] = [];
    for (const offset of [0, pageSize]) {
      const parsed = this.#parseMeta(offset);
      if (typeof parsed === 'string') problems.push(parsed);
      else if (parsed.pageSize !== pageSize) problems.push('page-size');
      else candidates.push(parsed);
    }
    const meta = candidates.sort((a, b) => (a.txid > b.txid ? -1 : a.txid < b.txid ? 1 : 0))[0];
    if (meta === undefined) this.#failMeta(problems);
    const pages = BigInt(Math.floor(this.#bytes.length / pageSize));
    if (meta.highWaterMark < 2n) {
      this.#fail('meta-fields', `its high-water mark ${meta.highWaterMark} leaves no room for the meta pages`);
    }
    if (meta.root < 2n || meta.root >= meta.highWaterMark) {
      this.#fail('meta-fields', `its root bucket page ${meta.root} is outside pages 2..${meta.highWaterMark - 1n}`);
    }
    if (meta.freelist !== NO_FREELIST && (meta.freelist < 2n || meta.freelist >= meta.highWaterMark)) {
      this.#fail('meta-fields', `its freelist page ${meta.freelist} is outside pages 2..${meta.highWaterMark - 1n}`);
    }
    // bbolt grows the file before it commits pages up to the high-water mark.
    if (meta.highWaterMark > pages) {
      this.#fail('truncated', `its meta page says ${meta.highWaterMark} pages are in use, the file holds ${pages}`, {
        size: this.#bytes.length,
      });
    }
    return meta;
  }

  /** The page size: from the first meta page, else from a second one found at 1 KiB << i (as bbolt looks for it). */
  #pageSize(): number {
    if (this.#bytes.length < PAGE_HEADER_SIZE + META_SIZE) {
      this.#fail('truncated', `it is ${this.#bytes.length} bytes, shorter than a meta page`, {
        size: this.#bytes.length,
      });
    }
    const problems: MetaProblem[] = [];
    const first = this.#parseMeta(0);
    if (typeof first !== 'string') return this.#checkedPageSize(first.pageSize);
    problems.push(first);
    for (let offset = MIN_PAGE_SIZE; offset <= MAX_PAGE_SIZE && offset < this.#bytes.length - 1024; offset *= 2) {
      const second = this.#parseMeta(offset);
      if (typeof second !== 'string') return this.#checkedPageSize(second.pageSize);
      problems.push(second);
    }
    this.#failMeta(problems);
  }

  #checkedPageSize(pageSize: number): number {
    // A power of two in bbolt's search range, large enough for a meta page.
    if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || (pageSize & (pageSize - 1)) !== 0) {
      this.#fail(
        'page-size',
        `its page size ${pageSize} is not a power of two from ${MIN_PAGE_SIZE} to ${MAX_PAGE_SIZE}`,
      );
    }
    if (this.#bytes.length < 2 * pageSize) {
      this.#fail('truncated', `it is ${this.#bytes.length} bytes, shorter than its two meta pages of ${pageSize}`, {
        size: this.#bytes.length,
      });
    }
    return pageSize;
  }

  /** The most telling reason no meta page is valid: the page size, then a checksum, then a version, then a missing magic. */
  #failMeta(problems: readonly MetaProblem[]): never {
    if (problems.includes('page-size')) this.#fail('page-size', 'its two meta pages disagree on the page size');
    if (problems.includes('meta-checksum')) {
      this.#fail('meta-checksum', 'no meta page has a valid FNV-64a checksum');
    }
    if (problems.includes('version')) this.#fail('version', `no meta page is of format version ${FORMAT_VERSION}`);
    this.#fail('magic', 'no meta page carries the BoltDB magic number 0xED0CDAED');
  }

  #parseMeta(pageOffset: number): Meta | MetaProblem {
    const at = pageOffset + PAGE_HEADER_SIZE;
    const bytes = this.#bytes;
    if (at + META_SIZE > bytes.length) return 'magic';
    if (bytes.readUInt32LE(at) !== MAGIC) return 'magic';
    if (bytes.readUInt32LE(at + 4) !== FORMAT_VERSION) return 'version';
    if (bytes.readBigUInt64LE(at + META_CHECKSUMMED_SIZE) !== fnv64a(bytes.subarray(at, at + META_CHECKSUMMED_SIZE))) {
      return 'meta-checksum';
    }
    return {
      pageSize: bytes.readUInt32LE(at + 8),
      root: bytes.readBigUInt64LE(at + 16),
      freelist: bytes.readBigUInt64LE(at + 32),
      highWaterMark: bytes.readBigUInt64LE(at + 40),
      txid: bytes.readBigUInt64LE(at + 48),
    };
  }

  /** Marks the freelist's pages free (a tree page among them is damage) after checking every id. */
  #readFreelist(): void {
    if (this.meta.freelist === NO_FREELIST) return;
    const page = this.#page(this.meta.freelist, 'the freelist');
    if (page.readUInt16LE(8) !== FREELIST_PAGE) {
      this.#fail('page-type', `freelist page ${this.meta.freelist} has page flags 0x${hex(page.readUInt16LE(8))}`);
    }
    let count = BigInt(page.readUInt16LE(10));
    let first = PAGE_HEADER_SIZE;
    if (count === 0xffffn) {
      if (page.length < PAGE_HEADER_SIZE + 8) this.#fail('freelist', 'its freelist page has no room for its count');
      count = page.readBigUInt64LE(PAGE_HEADER_SIZE);
      first += 8;
    }
    if (BigInt(first) + count * 8n > BigInt(page.length)) {
      this.#fail('freelist', `its freelist lists ${count} pages, more than its page holds`);
    }
    for (let i = 0; i < Number(count); i++) {
      const id = page.readBigUInt64LE(first + i * 8);
      if (id < 2n || id >= this.meta.highWaterMark) {
        this.#fail('freelist', `its freelist lists page ${id}, outside pages 2..${this.meta.highWaterMark - 1n}`);
      }
      this.#free.add(Number(id));
    }
  }

  /** Page `id` with its overflow pages, after checking it is in range, unreached, not free, and says it is `id`. */
  #page(id: bigint, what: string): Buffer {
    const { pageSize, highWaterMark } = this.meta;
    if (id < 2n || id >= highWaterMark) {
      this.#fail('page-id', `${what} names page ${id}, outside pages 2..${highWaterMark - 1n}`, { page: String(id) });
    }
    const n = Number(id);
    this.#reach(n);
    const start = n * pageSize;
    const header = this.#bytes.subarray(start, start + PAGE_HEADER_SIZE);
    if (header.readBigUInt64LE(0) !== id) {
      this.#fail('page-header', `page ${id} (${what}) says it is page ${header.readBigUInt64LE(0)}`, { page: n });
    }
    const overflow = header.readUInt32LE(12);
    if (id + BigInt(overflow) >= highWaterMark) {
      this.#fail('page-bounds', `page ${id} (${what}) runs ${overflow} pages past itself, beyond the high-water mark`, {
        page: n,
      });
    }
    const length = (overflow + 1) * pageSize;
    for (let p = n + 1; p <= n + overflow; p++) this.#reach(p);
    return this.#bytes.subarray(start, start + length);
  }

  /** Notes that page `p` is in use, once: a second time is a cycle or a shared page, a free page is damage. */
  #reach(p: number): void {
    if (this.#reached.has(p)) {
      this.#fail('page-reused', `page ${p} is reached twice (a cycle or a page shared by two parents)`, { page: p });
    }
    if (this.#free.has(p)) this.#fail('page-free', `page ${p} is in the tree and on the freelist`, { page: p });
    this.#reached.add(p);
  }

  /**
   * Walks a branch or leaf page (or an inline bucket's leaf page), entering nested buckets. Every
   * element visited is counted: a sound file has room for each element's 16 bytes, so more elements
   * than that means elements share bytes (a page pointing many times at one inline bucket), which
   * would otherwise multiply the work without bound.
   */
  #walkNode(node: Node, buckets: readonly Buffer[], depth: number, visit: (entry: BoltDBEntry) => void): void {
    const { page, where, inline } = node;
    if (depth > MAX_BOLTDB_DEPTH) {
      this.#fail('depth', `its buckets and branches nest deeper than ${MAX_BOLTDB_DEPTH} levels`);
    }
    if (page.length < PAGE_HEADER_SIZE) this.#fail('bucket-header', `${where} is shorter than a page header`);
    const flags = page.readUInt16LE(8);
    const count = page.readUInt16LE(10);
    if (PAGE_HEADER_SIZE + count * ELEMENT_SIZE > page.length) {
      this.#fail('element-bounds', `${where} claims ${count} elements, more than it holds`);
    }
    this.#elements += count;
    if (this.#elements > this.#bytes.length / ELEMENT_SIZE) {
      this.#fail('element-bounds', `${where} brings the elements seen to more than the file has room for`);
    }
    if (flags === BRANCH_PAGE && !inline) {
      if (count === 0) this.#fail('element-bounds', `branch ${where} has no elements`);
      for (let i = 0; i < count; i++) {
        const at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
        this.#slice(page, at + page.readUInt32LE(at), page.readUInt32LE(at + 4), where);
        const id = page.readBigUInt64LE(at + 8);
        const child = this.#page(id, `an element of branch ${where}`);
        this.#walkNode({ page: child, where: `page ${id}`, inline: false }, buckets, depth + 1, visit);
      }
      return;
    }
    if (flags !== LEAF_PAGE) this.#fail('page-type', `${where} of a bucket has page flags 0x${hex(flags)}`);
    for (let i = 0; i < count; i++) {
      const at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
      const elementFlags = page.readUInt32LE(at);
      const keyAt = at + page.readUInt32LE(at + 4);
      const key = this.#slice(page, keyAt, page.readUInt32LE(at + 8), where);
      const value = this.#slice(page, keyAt + key.length, page.readUInt32LE(at + 12), where);
      if ((elementFlags & BUCKET_LEAF_FLAG) === 0) {
        visit({ buckets, key, value });
        continue;
      }
      const name = JSON.stringify(key.toString('latin1'));
      // bbolt keeps a bucket inline only when it holds no buckets.
      if (inline) this.#fail('bucket-header', `${where} is an inline bucket, yet it holds bucket ${name}`);
      if (value.length < BUCKET_HEADER_SIZE)
        this.#fail('bucket-header', `bucket ${name} on ${where} has a short header`);
      const root = value.readBigUInt64LE(0);
      const inner = [...buckets, key];
      // Root page 0: the bucket's only (leaf) page follows its header inline.
      const child: Node =
        root === 0n
          ? { page: value.subarray(BUCKET_HEADER_SIZE), where: `the inline bucket ${name}`, inline: true }
          : { page: this.#page(root, `bucket ${name} on ${where}`), where: `page ${root}`, inline: false };
      this.#walkNode(child, inner, depth + 1, visit);
    }
  }

  #slice(page: Buffer, at: number, length: number, where: string): Buffer {
    if (at + length > page.length) {
      this.#fail('element-bounds', `an element of ${where} points past the end of its page`);
    }
    return page.subarray(at, at + length);
  }
}

function fnv64a(bytes: Uint8Array): bigint {
  let hash = FNV64_OFFSET;
  for (const b of bytes) hash = ((hash ^ BigInt(b)) * FNV64_PRIME) & U64;
  return hash;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
