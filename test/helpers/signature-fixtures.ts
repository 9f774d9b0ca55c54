/**
 * The upstream simple-signing `dir:` fixtures (test/fixtures/signature/verifier/), each with the image
 * reference containers/image's policy_eval_signedby_test.go gives it and the decision that test expects
 * under signedBy(public-key.gpg, matchExact).
 */
export const SIMPLE_SIGNING_FIXTURE_CASES: ReadonlyArray<
  readonly [fixture: string, reference: string, accepted: boolean]
> = [
  ['dir-img-valid', 'testing/manifest:latest', true],
  ['dir-img-valid', 'testing/manifest:notlatest', false],
  ['dir-img-valid-2', 'testing/manifest:latest', true],
  ['dir-img-valid-2', 'testing/manifest:notlatest', false],
  ['dir-img-mixed', 'testing/manifest:latest', true],
  ['dir-img-unsigned', 'testing/manifest:latest', false],
  ['dir-img-modified-manifest', 'testing/manifest:latest', false],
  ['dir-img-manifest-digest-error', 'testing/manifest:latest', false],
  ['dir-img-no-manifest', 'testing/manifest:latest', false],
];
