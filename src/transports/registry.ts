/**
 * Transports by name (containers/image transports/transports.go + alltransports).
 * Built-in transports register themselves from src/index.ts; names whose transport is not built
 * yet are registered as placeholders that fail with NOT_IMPLEMENTED, so the error says "not yet"
 * rather than "unknown".
 */
import { FerryError } from '../errors.js';
import { quoteInput } from '../util/quote.js';
import type { ImageReference, ImageTransport } from './types.js';

const transports = new Map<string, ImageTransport>();

export function registerTransport(transport: ImageTransport): void {
  transports.set(transport.name, transport);
}

export function getTransport(name: string): ImageTransport | undefined {
  return transports.get(name);
}

export function transportNames(): string[] {
  return [...transports.keys()].sort();
}

/** A registered name whose transport Ferry does not implement yet. */
export function placeholderTransport(name: string, plannedFor: string): ImageTransport {
  return {
    name,
    parseReference(within: string): ImageReference {
      throw new FerryError(
        'NOT_IMPLEMENTED',
        `transport ${quoteInput(name)} (in ${quoteInput(`${name}:${within}`)}) is not implemented yet: it arrives with ${plannedFor}`,
      );
    },
  };
}

/**
 * Parses a transport-qualified image name, `transport:details` (e.g. `docker://fedora`,
 * `oci:/tmp/layout:tag`), splitting at the first `:`.
 */
export function parseImageReference(s: string): ImageReference {
  const colon = s.indexOf(':');
  if (colon <= 0) {
    throw new FerryError(
      'INVALID_REFERENCE',
      `invalid image name ${quoteInput(s)}: expected transport:details (known transports: ${transportNames().join(', ')})`,
    );
  }
  const name = s.slice(0, colon);
  const transport = transports.get(name);
  if (transport === undefined) {
    throw new FerryError(
      'UNKNOWN_TRANSPORT',
      `invalid image name ${quoteInput(s)}: unknown transport ${quoteInput(name)} (known transports: ${transportNames().join(', ')})`,
    );
  }
  return transport.parseReference(s.slice(colon + 1));
}
