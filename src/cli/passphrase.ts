/**
 * Passphrases for signing keys, as skopeo takes them: the first line of a file (containers/image
 * pkg/cli.ReadPassphraseFile, as gpg reads --passphrase-file), or typed at a terminal without echo.
 */
import { readFile } from 'node:fs/promises';
import type * as Ferry from '../index.js';
import { printStdout } from './output.js';

type Lib = Pick<typeof Ferry, 'FerryError'>;

/** The first line of `path`, without its line break. */
export async function readPassphraseFile(lib: Lib, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new lib.FerryError('INVALID_ARGUMENT', `reading passphrase file "${path}": ${reason}`, { cause: e });
  }
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

/**
 * Asks for a passphrase on the terminal (echo off). Standard input that is not a terminal is an error
 * naming `keyName`, as in skopeo: a passphrase then comes from a file.
 */
export async function promptPassphrase(lib: Lib, prompt: string, keyName: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    throw new lib.FerryError(
      'INVALID_ARGUMENT',
      `cannot prompt for a passphrase for key ${keyName}, standard input is not a TTY (give a passphrase file)`,
    );
  }
  printStdout(prompt);
  input.setRawMode(true);
  input.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        for (const [i, ch] of [...text].entries()) {
          if (ch === '\r' || ch === '\n' || ch === '\u0004') {
            input.off('data', onData);
            input.pause(); // before unshift: a flowing stream would hand the rest to no one
            // Typed-ahead input (a second passphrase) stays for the next prompt.
            const rest = [...text].slice(i + 1).join('');
            if (rest !== '') input.unshift(Buffer.from(rest, 'utf8'));
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            input.off('data', onData);
            reject(new lib.FerryError('ABORTED', 'passphrase entry interrupted'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
          else typed += ch;
        }
      };
      input.on('data', onData);
    });
  } finally {
    input.setRawMode(false);
    input.pause();
    printStdout('\n');
  }
}
