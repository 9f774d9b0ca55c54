/** The proxy URLs of the environment, checked before undici parses them. */
import { FerryError } from '../errors.js';

/**
 * Throws INVALID_CONFIG when `value` (from `variable`) is not a URL. The value is never quoted: a
 * proxy URL may hold a password, and the parser's own TypeError would carry it whole (`input`).
 */
export function checkProxyURL(value: string | undefined, variable: string): void {
  if (value === undefined || URL.canParse(value)) return;
  throw new FerryError(
    'INVALID_CONFIG',
    `${variable} is not a valid proxy URL (its value is not shown: it may hold a password)`,
    {
      details: { variable },
    },
  );
}
