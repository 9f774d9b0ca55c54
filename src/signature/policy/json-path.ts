/** JSON paths for messages: `transports.docker["quay.io"][0].keyType`. */

import type { JSONPath } from '../../util/json-duplicate-key.js';
import { escapeControl } from '../../util/quote.js';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `a.b["c.d"][0]`; the root is `(top level)`. */
export function formatJSONPath(path: JSONPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (seg.length <= 200 && IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${escapeControl(JSON.stringify(seg.length > 200 ? `${seg.slice(0, 200)}…` : seg))}]`;
  }
  return out === '' ? '(top level)' : out;
}
