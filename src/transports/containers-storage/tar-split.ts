/**
 * tar-split (github.com/vbatts/tar-split, as containers/storage stores it in `ID.tar-split.gz`):
 * one JSON object per line, in stream order. A segment entry (type 2) holds raw bytes of the tar
 * stream that are not file contents (headers, extension headers, padding, the end blocks) base64 in
 * `payload`; a file entry (type 1) stands for a member: `name` (or `name_raw`, base64, when not
 * UTF-8), `size`, and for size > 0 the CRC-64 (ISO polynomial) of its contents, 8 bytes big-endian.
 * `position` counts entries from 0. Contents come back from the layer's files by name, so
 * segments + contents in order give the original tar byte for byte.
 *
 * The disassembler here reads an uncompressed tar stream (POSIX ustar, pax and GNU long-name
 * extension headers) and hands each member to a callback with its contents as a stream.
 */
import { FerryError } from '../../errors.js';

// CRC-64/ISO (Go hash/crc64 ISO table, reflected), kept as two 32-bit halves for speed.
const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (odd) hi = (hi ^ 0xd8000000) >>> 0;
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

export class Crc64 {
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  update(bytes: Uint8Array): void {
    let hi = this.#hi;
    let lo = this.#lo;
    for (let i = 0; i < bytes.length; i++) {
      const idx = (lo ^ (bytes[i] as number)) & 0xff;
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ (TABLE_LO[idx] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (TABLE_HI[idx] as number)) >>> 0;
    }
    this.#hi = hi;
    this.#lo = lo;
  }

  /** The 8-byte big-endian sum, as Go's hash.Hash64 Sum. */
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(~this.#hi >>> 0, 0);
    out.writeUInt32BE(~this.#lo >>> 0, 4);
    return out;
  }
}

export const SEGMENT_TYPE = 2;
export const FILE_TYPE = 1;

export interface TarSplitEntry {
  type: typeof FILE_TYPE | typeof SEGMENT_TYPE;
  /** FILE_TYPE: the member name as in the tar (raw bytes; UTF-8 `name` or base64 `name_raw` in JSON). */
  name?: Buffer;
  size?: number;
  payload?: Buffer;
  position: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One JSON line, field order and omissions as Go encodes tar-split's storage.Entry. */
export function encodeEntry(e: TarSplitEntry): string {
  const parts: string[] = [`"type":${e.type}`];
  if (e.name !== undefined && e.name.length > 0) {
    let text: string | undefined;
    try {
      text = utf8.decode(e.name);
    } catch {
      text = undefined;
    }
    parts.push(text === undefined ? `"name_raw":"${e.name.toString('base64')}"` : `"name":${JSON.stringify(text)}`);
  }
  if (e.size !== undefined && e.size !== 0) parts.push(`"size":${e.size}`);
  parts.push(`"payload":${e.payload === undefined ? 'null' : `"${e.payload.toString('base64')}"`}`);
  parts.push(`"position":${e.position}`);
  return `{${parts.join(',')}}\n`;
}

function invalidTarSplit(what: string, why: string): FerryError {
  return new FerryError('INVALID_LAYOUT', `${what}: invalid tar-split data: ${why}`);
}

/** Parses one tar-split JSON line. */
export function decodeEntry(line: string, what: string): TarSplitEntry {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw invalidTarSplit(what, 'a line is not JSON');
  }
  if (v === null || typeof v !== 'object') throw invalidTarSplit(what, 'a line is not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.type !== FILE_TYPE && o.type !== SEGMENT_TYPE)
    throw invalidTarSplit(what, `unknown entry type ${String(o.type)}`);
  const e: TarSplitEntry = { type: o.type, position: typeof o.position === 'number' ? o.position : 0 };
  if (typeof o.name === 'string') e.name = Buffer.from(o.name, 'utf8');
  else if (typeof o.name_raw === 'string') e.name = Buffer.from(o.name_raw, 'base64');
  if (o.size !== undefined) {
    if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0)
      throw invalidTarSplit(what, 'an entry size is not a non-negative integer');
    e.size = o.size;
  }
  if (typeof o.payload === 'string') e.payload = Buffer.from(o.payload, 'base64');
  else if (o.payload !== null && o.payload !== undefined) throw invalidTarSplit(what, 'a payload is not base64 text');
  return e;
}

/** Reads exact byte counts from an async iterable of chunks. */
export class ChunkReader {
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #done = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#done = true;
      return false;
    }
    this.#buf = this.#buf.length === 0 ? r.value : Buffer.concat([this.#buf, r.value]);
    return true;
  }

  /** Exactly n bytes, or fewer at the end of the input. */
  async read(n: number): Promise<Buffer> {
    while (this.#buf.length < n && (await this.#fill())) {}
    const out = this.#buf.subarray(0, Math.min(n, this.#buf.length));
    this.#buf = this.#buf.subarray(out.length);
    return out;
  }

  /** n bytes as chunks; throws when the input ends first. */
  async *chunks(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill())) throw invalidTar(what, 'the archive ends inside a member');
      const out = this.#buf.subarray(0, Math.min(left, this.#buf.length));
      this.#buf = this.#buf.subarray(out.length);
      left -= out.length;
      yield out;
    }
  }
}

export function invalidTar(what: string, why: string): FerryError {
  return new FerryError('INVALID_ARCHIVE', `${what}: invalid layer tar: ${why}`);
}

const BLOCK = 512;

function cString(field: Buffer): Buffer {
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

function headerNumber(field: Buffer, what: string): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    if (!Number.isSafeInteger(value)) throw invalidTar(what, 'a base-256 header number is too large');
    return value;
  }
  const text = cString(field).toString('latin1').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalidTar(what, `header number ${JSON.stringify(text)} is not octal`);
  return Number.parseInt(text, 8);
}

function checksumOK(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] as number);
  const stored = cString(block.subarray(148, 156)).toString('latin1').trim();
  return stored !== '' && Number.parseInt(stored, 8) === sum;
}

/** A member as the layer applier needs it (after pax / GNU long-name headers are merged in). */
export interface TarMember {
  /** Name bytes as the tar holds them (merged from pax `path` or a GNU long name). */
  rawName: Buffer;
  name: string;
  linkname: string;
  /** '0' regular, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch (fractions from pax). */
  mtime: number;
  atime?: number;
  size: number;
  devmajor: number;
  devminor: number;
  /** pax `SCHILY.xattr.NAME` records. */
  xattrs: Map<string, Buffer>;
}

function parsePax(data: Buffer, what: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw invalidTar(what, 'a pax record has no length');
    const len = Number.parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > data.length)
      throw invalidTar(what, 'a pax record length is wrong');
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw invalidTar(what, 'a pax record has no "="');
    out.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/** tar-split reads what follows the end blocks in chunks of this size. */
const TRAILER_CHUNK = 1024 * 1024;

/** Largest extension header (pax, GNU long name), and largest run of them before one member. */
const MAX_EXTENSION = 16 * 1024 * 1024;

const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

/**
 * Splits a tar stream into tar-split entries (`emit`, one JSON line each) and hands each member to
 * `onMember` with its contents (regular files), which it must read to the end.
 */
export async function disassembleTar(
  input: AsyncIterable<Buffer>,
  what: string,
  emit: (line: string) => void,
  onMember: (m: TarMember, contents: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const reader = new ChunkReader(input);
  let position = 0;
  let segment: Buffer[] = [];
  const flushSegment = () => {
    emit(encodeEntry({ type: SEGMENT_TYPE, payload: Buffer.concat(segment), position: position++ }));
    segment = [];
  };
  let pax = new Map<string, Buffer>();
  const globalPax = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let extensionBytes = 0;
  let globalBytes = 0;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) break;
    if (block.length < BLOCK) throw invalidTar(what, 'the archive ends inside a header');
    segment.push(block);
    if (block.every((b) => b === 0)) {
      // The end-of-archive blocks: the first two end the last segment of the stream proper.
      segment.push(await reader.read(BLOCK));
      break;
    }
    if (!checksumOK(block)) throw invalidTar(what, 'a header checksum is wrong');
    const typeflag = String.fromCharCode(block[156] as number);
    const size = headerNumber(block.subarray(124, 136), what);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > MAX_EXTENSION) throw invalidTar(what, 'an extension header is larger than 16 MiB');
      // Headers in a row before one member are held together (its segment): bounded as a whole.
      extensionBytes += size;
      if (extensionBytes > MAX_EXTENSION)
        throw invalidTar(what, 'the extension headers of one member are larger than 16 MiB together');
      const data = await reader.read(padded);
      if (data.length < padded) throw invalidTar(what, 'the archive ends inside an extension header');
      segment.push(data);
      const body = data.subarray(0, size);
      if (typeflag === 'x') for (const [k, v] of parsePax(body, what)) pax.set(k, v);
      else if (typeflag === 'g') {
        for (const [k, v] of parsePax(body, what)) {
          const old = globalPax.get(k);
          globalBytes += k.length + v.length - (old === undefined ? 0 : k.length + old.length);
          globalPax.set(k, v);
        }
        if (globalBytes > MAX_EXTENSION) throw invalidTar(what, 'the global extension headers hold more than 16 MiB');
      } else if (typeflag === 'L') longName = Buffer.from(cString(body));
      else longLink = Buffer.from(cString(body));
      continue;
    }
    if (typeflag === 'S') throw invalidTar(what, 'GNU sparse files are not supported');
    const records = new Map([...globalPax, ...pax]);
    const magic = block.subarray(257, 263).toString('latin1');
    let rawName: Buffer = Buffer.from(cString(block.subarray(0, 100)));
    const prefix = cString(block.subarray(345, 500));
    if (magic === 'ustar\0' && prefix.length > 0) rawName = Buffer.concat([prefix, Buffer.from('/'), rawName]);
    if (longName !== undefined) rawName = longName;
    if (records.has('path')) rawName = records.get('path') as Buffer;
    let linkBytes: Buffer = Buffer.from(cString(block.subarray(157, 257)));
    if (longLink !== undefined) linkBytes = longLink;
    if (records.has('linkpath')) linkBytes = records.get('linkpath') as Buffer;
    const num = (key: string, field: Buffer): number => {
      const v = records.get(key);
      if (v === undefined) return headerNumber(field, what);
      const n = Number(v.toString('latin1'));
      if (!Number.isFinite(n)) throw invalidTar(what, `pax ${key} is not a number`);
      return n;
    };
    const member: TarMember = {
      rawName,
      name: rawName.toString('utf8'),
      linkname: linkBytes.toString('utf8'),
      typeflag: typeflag === '\0' || typeflag === '7' ? '0' : typeflag,
      mode: headerNumber(block.subarray(100, 108), what),
      uid: num('uid', block.subarray(108, 116)),
      gid: num('gid', block.subarray(116, 124)),
      mtime: num('mtime', block.subarray(136, 148)),
      size: records.has('size') ? num('size', block.subarray(124, 136)) : size,
      devmajor: headerNumber(block.subarray(329, 337), what),
      devminor: headerNumber(block.subarray(337, 345), what),
      xattrs: new Map(),
    };
    if (records.has('atime')) member.atime = num('atime', Buffer.alloc(0));
    for (const [k, v] of records) if (k.startsWith('SCHILY.xattr.')) member.xattrs.set(k.slice(13), v);
    pax = new Map();
    extensionBytes = 0;
    longName = undefined;
    longLink = undefined;
    // Go's archive/tar reads no contents for header-only types, whatever the size field says.
    const dataSize = HEADER_ONLY.has(member.typeflag) ? 0 : member.size;
    const dataPadded = Math.ceil(dataSize / BLOCK) * BLOCK;
    flushSegment();
    const crc = new Crc64();
    let seen = 0;
    const contents = (async function* () {
      for await (const chunk of reader.chunks(dataSize, what)) {
        crc.update(chunk);
        seen += chunk.length;
        yield chunk;
      }
    })();
    await onMember(member, contents);
    // Whatever the callback left unread is still part of the stream.
    for await (const _ of contents) {
    }
    if (seen !== dataSize) throw invalidTar(what, `member ${JSON.stringify(member.name)} was not read to its end`);
    emit(
      encodeEntry({
        type: FILE_TYPE,
        name: rawName,
        size: dataSize,
        ...(dataSize > 0 ? { payload: crc.digest() } : {}),
        position: position++,
      }),
    );
    const padding = await reader.read(dataPadded - dataSize);
    if (padding.length < dataPadded - dataSize) throw invalidTar(what, 'the archive ends inside padding');
    segment.push(padding);
  }
  if (segment.some((b) => b.length > 0)) flushSegment();
  // Bytes after the end blocks (a tar writer's record padding) follow as segments of at most 1 MiB,
  // then one empty segment, as tar-split writes them.
  for (;;) {
    const rest = await reader.read(TRAILER_CHUNK);
    if (rest.length === 0) break;
    segment = [rest];
    flushSegment();
  }
  segment = [];
  flushSegment();
}
