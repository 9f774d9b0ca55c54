/**
 * Tar archives written by hand, byte for byte (ustar headers, pax records for long names), so the
 * corpus can hold what no well-behaved writer produces: `..` and absolute names, links that escape,
 * device and FIFO entries, duplicates. https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html
 */

/** ustar type flags. */
export const TarType = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  charDevice: '3',
  blockDevice: '4',
  directory: '5',
  fifo: '6',
  pax: 'x',
} as const;

export interface TarMember {
  name: string;
  type?: (typeof TarType)[keyof typeof TarType];
  linkname?: string;
  data?: Buffer | string;
  /** Store `name` and `linkname` in a pax header even when they fit the ustar fields. */
  pax?: boolean;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, type: string, size: number, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(type === TarType.directory ? 0o755 : 0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write(type, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 'ascii');
  h.write(octal(0, 8), 329, 'ascii');
  h.write(octal(0, 8), 337, 'ascii');
  h.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function padded(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}

/** One pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

/** The header of a regular file of `size` bytes, for archives streamed in parts (data and end written by the caller). */
export function fileHeader(name: string, size: number): Buffer {
  return header(name, TarType.file, size, '');
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** The bytes of a tar holding `members`, ended by the two zero blocks. */
export function tarOf(members: readonly TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const type = m.type ?? TarType.file;
    const data = Buffer.from(m.data ?? '');
    const linkname = m.linkname ?? '';
    const long = m.pax === true || Buffer.byteLength(m.name) > 99 || Buffer.byteLength(linkname) > 99;
    if (long) {
      const records = Buffer.from(paxRecord('path', m.name) + (linkname === '' ? '' : paxRecord('linkpath', linkname)));
      parts.push(header('PaxHeaders/x', TarType.pax, records.length, ''), padded(records));
    }
    parts.push(header(long ? 'placeholder' : m.name, type, data.length, long ? '' : linkname), padded(data));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/**
 * Offsets to cut an archive at: every 512-byte boundary up to `headerSpan`, then `spread` offsets
 * through the rest, each also shifted off the block boundary.
 */
export function cutOffsets(total: number, headerSpan: number, spread: number): number[] {
  const offsets = new Set<number>();
  for (let at = 0; at < Math.min(headerSpan, total); at += BLOCK) {
    offsets.add(at);
    offsets.add(at + 100);
  }
  for (let i = 1; i <= spread; i++) {
    const at = Math.floor(((total - 1) * i) / (spread + 1));
    offsets.add(at);
    offsets.add(at - (at % BLOCK));
  }
  return [...offsets].filter((o) => o >= 0 && o < total).sort((a, b) => a - b);
}
