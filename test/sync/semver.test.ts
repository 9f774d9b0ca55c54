/** images-by-semver's constraints, with Masterminds/semver v3's documented meanings (its README's examples). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FerryError, parseSemverConstraint } from '../../src/index.js';

const TAGS = [
  '0.0.3',
  '0.0.4',
  '0.2.3',
  '0.2.9',
  '0.3.0',
  '1.0.0',
  '1.2',
  '1.2.3',
  '1.2.9',
  '1.3.0',
  'v1.4.0',
  '2.0.0',
  '2.0.0-rc.1',
  '3',
  'latest',
  '1.2.3.4',
];

function matching(constraint: string): string[] {
  const c = parseSemverConstraint(constraint);
  return TAGS.filter((t) => c.matches(t));
}

describe('semver constraints (Masterminds v3)', () => {
  it('comparisons, AND (comma or space) and OR; tags that are not versions never match', () => {
    assert.deepEqual(matching('>= 1.2.3, < 2'), ['1.2.3', '1.2.9', '1.3.0', 'v1.4.0']);
    assert.deepEqual(matching('>= 1.2.3 < 1.3'), ['1.2.3', '1.2.9']);
    assert.deepEqual(matching('< 0.1 || >= 3'), ['0.0.3', '0.0.4', '3']);
    assert.deepEqual(matching('!= 1.2.3, ~1.2'), ['1.2', '1.2.9']);
    assert.deepEqual(matching('=1.2'), ['1.2', '1.2.3', '1.2.9']);
    assert.deepEqual(matching('> 1.2'), ['1.3.0', 'v1.4.0', '2.0.0', '3']);
  });

  it('tilde, caret, wildcards and hyphen ranges', () => {
    assert.deepEqual(matching('~1.2.3'), ['1.2.3', '1.2.9']);
    assert.deepEqual(matching('^1.2.3'), ['1.2.3', '1.2.9', '1.3.0', 'v1.4.0']);
    assert.deepEqual(matching('^0.2.3'), ['0.2.3', '0.2.9']);
    assert.deepEqual(matching('^0.0.3'), ['0.0.3']);
    assert.deepEqual(matching('1.2.x'), ['1.2', '1.2.3', '1.2.9']);
    assert.deepEqual(matching('1.2 - 1.3.0'), ['1.2', '1.2.3', '1.2.9', '1.3.0']);
    assert.equal(matching('*').length, 13);
  });

  it('a pre-release matches only a comparison that names one', () => {
    assert.ok(!matching('>= 1.0.0').includes('2.0.0-rc.1'));
    assert.ok(matching('>= 2.0.0-rc.0').includes('2.0.0-rc.1'));
    assert.ok(!matching('>= 2.0.0-rc.2').includes('2.0.0-rc.1'));
  });

  it('a constraint it cannot read is INVALID_ARGUMENT naming it', () => {
    assert.throws(
      () => parseSemverConstraint('>= banana'),
      (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT' && e.message.includes('">= banana"'),
    );
  });
});
