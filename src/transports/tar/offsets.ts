/**
 * Where each member's data starts in an uncompressed tar file, read from the file's own 512-byte headers (tar-stream
 * does not document member offsets). It walks in step with tar-stream's entries: extension headers (pax, pax global,
 * GNU long name and long link) belong to the member that follows, all-zero blocks are skipped as tar-stream skips them,
 * and a member's data is padded to 512 bytes.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { invalidArchive } from './archive-error.js';

const BLOCK = 512;
/** Typeflags of headers that describe the next member instead of being one: x, g, K, L, N. */
const EXTENSION_TYPEFLAGS = new Set([0x78, 0x67, 0x4b, 0x4c, 0x4e]);

function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** A numeric header field: octal text, or base-256 when the high bit of its first byte is set. */
function headerNumber(field: Buffer): number {
  if (((field[0] ?? 0) & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** True for a block whose bytes are all zero outside the checksum field (tar-stream reads it as no header). */
function isEmptyBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && block[i] !== 0) return false;
  return true;
}

export class MemberOffsets {
  readonly #path: string;
  readonly #archive: string;
  readonly #block = Buffer.alloc(BLOCK);
  #file: FileHandle | undefined;
  #position = 0;

  /** `path`: the uncompressed tar, opened at the first member (the scan that calls next() reports a missing file). */
  constructor(path: string, archive: string) {
    this.#path = path;
    this.#archive = archive;
  }

  /**
   * The data offset of the next member, whose data tar-stream reports as `size` bytes (pax size applied);
   * a directory's data is not skipped, as tar-stream does not skip it.
   */
  async next(name: string, size: number, isDirectory: boolean): Promise<number> {
    this.#file ??= await open(this.#path, 'r');
    for (;;) {
      const { bytesRead } = await this.#file.read(this.#block, 0, BLOCK, this.#position);
      if (bytesRead < BLOCK)
        throw invalidArchive(this.#archive, `no header for entry "${name}" at byte ${this.#position}`);
      if (isEmptyBlock(this.#block)) {
        this.#position += BLOCK;
        continue;
      }
      const typeflag = this.#block[156] ?? 0;
      if (EXTENSION_TYPEFLAGS.has(typeflag)) {
        this.#position += BLOCK + padded(headerNumber(this.#block.subarray(124, 136)));
        continue;
      }
      const offset = this.#position + BLOCK;
      this.#position = offset + (isDirectory ? 0 : padded(size));
      return offset;
    }
  }

  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }
}
