import assert from 'node:assert/strict';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import tar from 'tar-stream';
import { TarIndex } from '../../../src/transports/tar/tar-index.js';
import { run } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';

/** Member name → content: long names (GNU long name or pax path), sizes around the 512-byte block. */
function members(): Map<string, Buffer> {
  const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(80)}`;
  const files = new Map<string, Buffer>();
  files.set('empty', Buffer.alloc(0));
  files.set('one', Buffer.from('1'));
  for (const size of [511, 512, 513, 5000]) files.set(`size-${size}`, Buffer.alloc(size, size % 251));
  files.set(`${long}/long-${'n'.repeat(90)}`, Buffer.from('a file under a 300-character name'));
  files.set('ünïcode-näme', Buffer.from('a name that pax records in UTF-8'));
  files.set('after-long', Buffer.alloc(700, 7));
  return files;
}

async function fileBytes(file: string, offset: number, size: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(size);
    await handle.read(buffer, 0, size, offset);
    return buffer;
  } finally {
    await handle.close();
  }
}

async function assertOffsets(archive: string, expected: Map<string, Buffer>): Promise<void> {
  const index = await TarIndex.build(archive);
  for (const [name, content] of expected) {
    const entry = index.entry(name);
    assert.ok(entry, `no member ${name} in ${index.names().join(', ')}`);
    assert.equal(entry.size, content.length, name);
    // The file's own bytes at the recorded offset are the member's data.
    assert.deepEqual(await fileBytes(archive, entry.offset, content.length), content, name);
  }
}

describe('TarIndex member offsets (read from the tar headers)', () => {
  for (const format of ['gnu', 'pax', 'posix'] as const) {
    it(`are right for a GNU tar --format=${format} archive with long names, a long link and padded sizes`, async () => {
      await withTempDir(async (dir) => {
        const root = path.join(dir, 'root');
        const expected = members();
        for (const [name, content] of expected) {
          await mkdir(path.dirname(path.join(root, name)), { recursive: true });
          await writeFile(path.join(root, name), content);
        }
        await symlink(`${'t'.repeat(150)}/target`, path.join(root, 'link-with-long-target'));
        const archive = path.join(dir, 'a.tar');
        // keyword=value puts a pax global header first; keyword:=value a pax header before every member.
        const pax = format === 'gnu' ? [] : [`--pax-option=comment=${'g'.repeat(600)},mtime:=0`];
        const r = await run('tar', ['-C', root, `--format=${format}`, ...pax, '--sort=name', '-cf', archive, '.']);
        assert.equal(r.code, 0, r.stderr);
        await assertOffsets(archive, new Map([...expected].map(([n, c]) => [`./${n}`.slice(2), c])));
        assert.equal(
          (await TarIndex.build(archive)).entry('link-with-long-target')?.linkname,
          `${'t'.repeat(150)}/target`,
        );
      });
    });
  }

  it('are right after tar-stream pax headers of several blocks', async () => {
    await withTempDir(async (dir) => {
      const expected = members();
      const pack = tar.pack();
      for (const [name, content] of expected)
        pack.entry({ name, size: content.length, pax: { comment: 'x'.repeat(900) } }, content);
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const chunk of pack) chunks.push(chunk as Buffer);
      const archive = path.join(dir, 'b.tar');
      await writeFile(archive, Buffer.concat(chunks));
      await assertOffsets(archive, expected);
    });
  });
});
