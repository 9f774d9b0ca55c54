import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FerryError } from '../../src/errors.js';
import { parseDockerReference } from '../../src/reference/reference.js';
import { invalidCases, validCases } from './cases.js';

describe('reference table: valid references', () => {
  for (const c of validCases) {
    test(`parses ${JSON.stringify(c.input)} as ${c.name}`, () => {
      const ref = parseDockerReference(c.input);
      assert.equal(ref.name, c.name);
      assert.equal(ref.tag, c.tag);
      assert.equal(ref.digest, c.digest);
      assert.equal(ref.familiar, c.familiar);
      assert.equal(ref.name, `${ref.domain}/${ref.path}`);
      const suffix = (c.tag === undefined ? '' : `:${c.tag}`) + (c.digest === undefined ? '' : `@${c.digest}`);
      assert.equal(ref.toString(), c.name + suffix);
      // The normalised form is a fixed point; the familiar form parses back to the same reference.
      assert.equal(parseDockerReference(ref.toString()).toString(), ref.toString());
      if (c.familiarReparses !== false) {
        assert.equal(parseDockerReference(ref.familiar).toString(), ref.toString());
      }
    });
  }
});

describe('reference table: invalid references', () => {
  for (const c of invalidCases) {
    test(`rejects ${JSON.stringify(c.input.length > 80 ? `${c.input.slice(0, 80)}…` : c.input)}: ${c.error}`, () => {
      assert.throws(
        () => parseDockerReference(c.input),
        (e: unknown) => {
          assert.ok(e instanceof FerryError, `expected a FerryError, got ${String(e)}`);
          assert.equal(e.code, 'INVALID_REFERENCE');
          assert.ok(e.message.startsWith(`invalid reference "${c.input}": `), e.message);
          assert.ok(
            e.message.includes(c.error),
            `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(c.error)}`,
          );
          return true;
        },
      );
    });
  }
});

test('the reference table holds at least 150 cases', () => {
  assert.ok(validCases.length + invalidCases.length >= 150, `${validCases.length + invalidCases.length} cases`);
  assert.equal(
    new Set([...validCases, ...invalidCases].map((c) => c.input)).size,
    validCases.length + invalidCases.length,
  );
});
