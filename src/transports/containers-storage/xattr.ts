/**
 * Extended attributes, which Node cannot read or write: a perl helper (perl-base is on every
 * Debian system) makes the l*xattr system calls, with their numbers for the running architecture.
 * Requests go through stdin, one per line, hex-encoded, so no argument list can grow too long.
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../../errors.js';

/** lsetxattr, lgetxattr, llistxattr (asm/unistd.h). */
const SYSCALLS: Partial<Record<string, [number, number, number]>> = { x64: [189, 192, 195], arm64: [6, 9, 12] };

const HELPER = String.raw`
use strict;
my ($set, $get, $list) = @ARGV;
sub unsupported { return $!{ENOTSUP} || $!{EOPNOTSUPP}; }
while (my $line = <STDIN>) {
  chomp $line;
  my ($op, @f) = split / /, $line;
  @f = map { pack('H*', $_) } @f;
  if ($op eq 'set') {
    my ($path, $name, $value) = @f;
    next if syscall($set, $path, $name, $value, length($value), 0) == 0;
    next if unsupported();
    die "lsetxattr $name: $!\n";
  } elsif ($op eq 'copy') {
    my ($src, $dst, @wanted) = @f;
    my $buf = "\0" x 65536;
    my $n = syscall($list, $src, $buf, 65536);
    if ($n < 0) { next if unsupported(); die "llistxattr: $!\n"; }
    for my $name (split /\0/, substr($buf, 0, $n)) {
      next unless grep { $name eq $_ || (substr($_, -1) eq '.' && index($name, $_) == 0) } @wanted;
      my $v = "\0" x 65536;
      my $m = syscall($get, $src, $name, $v, 65536);
      die "lgetxattr $name: $!\n" if $m < 0;
      $v = substr($v, 0, $m);
      syscall($set, $dst, $name, $v, $m, 0) == 0 or unsupported() or die "lsetxattr $name: $!\n";
    }
  } elsif ($op eq 'get') {
    my ($path, $name) = @f;
    my $v = "\0" x 65536;
    my $m = syscall($get, $path, $name, $v, 65536);
    print $m < 0 ? "-\n" : unpack('H*', substr($v, 0, $m)) . "\n";
  }
}
`;

function numbers(): [number, number, number] {
  const n = SYSCALLS[process.arch];
  if (n === undefined)
    throw new FerryError('NOT_IMPLEMENTED', `extended attributes are not supported on ${process.arch} yet`);
  return n;
}

const hex = (s: string | Buffer) => Buffer.from(s).toString('hex');

async function runHelper(lines: string[]): Promise<string> {
  const child = spawn('perl', ['-e', HELPER, ...numbers().map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (err.length < 4096) err += s;
  });
  const done = new Promise<number | null>((resolve) => {
    child.on('close', resolve);
    child.on('error', () => resolve(null));
  });
  child.stdin.on('error', () => {});
  child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  const code = await done;
  if (code !== 0) {
    throw new FerryError(
      'NOT_IMPLEMENTED',
      `cannot handle extended attributes: ${err.trim() || 'the perl helper did not run'}`,
    );
  }
  return out;
}

/** Sets extended attributes (path, name, value); a file system without xattrs is skipped, as containers/storage does. */
export async function setXattrs(attrs: readonly [string, string, Buffer][]): Promise<void> {
  if (attrs.length === 0) return;
  await runHelper(attrs.map(([p, n, v]) => `set ${hex(p)} ${hex(n)} ${hex(v)}`));
}

/**
 * Copies the extended attributes a vfs layer copy keeps (containers/storage drivers/copy
 * doCopyXattrs: security.capability, user.*, trusted.overlay.opaque) from each source to its copy.
 */
export async function copyXattrs(pairs: readonly [string, string][]): Promise<void> {
  if (pairs.length === 0) return;
  const wanted = ['security.capability', 'user.', 'trusted.overlay.opaque'].map(hex).join(' ');
  await runHelper(pairs.map(([s, d]) => `copy ${hex(s)} ${hex(d)} ${wanted}`));
}

/** One extended attribute's value, or undefined when the file has none of that name. */
export async function getXattr(path: string, name: string): Promise<Buffer | undefined> {
  const out = (await runHelper([`get ${hex(path)} ${hex(name)}`])).trim();
  return out === '-' ? undefined : Buffer.from(out, 'hex');
}
