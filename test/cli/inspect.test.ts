import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template, isWholeJSONFormat, normalizeFormat } from '../../src/cli/template.js';
import { isFerryError } from '../../src/errors.js';
import { makeImage } from '../helpers/make-image.js';
import { runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const data = {
  Name: '',
  Digest: 'sha256:abc',
  Layers: ['sha256:1', 'sha256:2'],
  Labels: { b: '2', a: '1' },
  Env: ['A=1', 'B=2'],
  RepoTags: [],
};

function render(format: string, value: unknown = data, maps = new WeakSet<object>([data.Labels])): string {
  return new Template(format).execute(value, { maps });
}

describe('inspect --format templates', () => {
  it('prints fields, lists and maps as Go does', () => {
    assert.equal(render('{{.Digest}}'), 'sha256:abc');
    assert.equal(render('{{.Layers}}'), '[sha256:1 sha256:2]');
    assert.equal(render('{{.Labels}}'), 'map[a:1 b:2]');
    assert.equal(render('{{.RepoTags}}'), '[]');
    assert.equal(render('{{.Name}}|'), '|');
  });

  it('ranges over lists and maps, with variables', () => {
    assert.equal(render('{{range .Layers}}{{.}} {{end}}'), 'sha256:1 sha256:2 ');
    assert.equal(render('{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}'), 'a=1;b=2;');
    assert.equal(render('{{range .RepoTags}}x{{else}}none{{end}}'), 'none');
  });

  it('supports index, json, len, join, if/else and trimming', () => {
    assert.equal(render('{{index .Labels "a"}}'), '1');
    assert.equal(render('{{index .Labels "missing"}}'), '');
    assert.equal(render('{{json .Labels}}'), '{"b":"2","a":"1"}');
    assert.equal(render('{{.Layers | json}}'), '["sha256:1","sha256:2"]');
    assert.equal(render('{{len .Layers}}'), '2');
    assert.equal(render('{{join .Env ","}}'), 'A=1,B=2');
    assert.equal(render('{{if .RepoTags}}y{{else}}n{{end}}'), 'n');
    assert.equal(render('a  {{- .Digest -}}  b'), 'asha256:abcb');
  });

  it('prints <no value> for a missing map key and fails on a missing struct field', () => {
    assert.equal(render('{{.Labels.nope}}'), '<no value>');
    assert.throws(() => render('{{.Nope}}'), /can't evaluate field Nope/);
  });

  it('rejects unknown functions and unclosed blocks before running', () => {
    assert.throws(
      () => new Template('{{foo .Os}}'),
      (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT') && /"foo" not defined/.test(e.message),
    );
    assert.throws(() => new Template('{{range .Layers}}'), /missing \{\{end\}\}/);
    assert.throws(() => new Template('{{end}}'), /unexpected \{\{end\}\}/);
    assert.throws(() => new Template('{{template "x"}}'), /not supported/);
  });

  it('prepares formats as skopeo does', () => {
    assert.equal(normalizeFormat('{{.Os}}'), '{{.Os}}\n');
    assert.equal(normalizeFormat('{{.Os}}\\n'), '{{.Os}}\n');
    assert.equal(normalizeFormat('a\\tb'), 'a\tb\n');
    assert.ok(isWholeJSONFormat(' {{ json . }} '));
    assert.ok(isWholeJSONFormat('json'));
    assert.ok(!isWholeJSONFormat('{{json .Labels}}'));
  });
});

describe('ferry inspect', () => {
  it('prints the inspect JSON indented with 4 spaces and a final newline', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 't' });
      const r = await runFerry(['inspect', `oci:${dir}:t`]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith('{\n    "Digest": '));
      assert.ok(r.stdout.endsWith('}\n'));
      const info = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(info['Digest'], made.digest);
      assert.deepEqual(
        info['Layers'],
        made.instances[0]?.layers.map((l) => l.digest),
      );
      assert.deepEqual(info['RepoTags'], []);
    });
  });

  it('prints the exact manifest bytes with --raw and the exact config bytes with --config --raw', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 't' });
      const raw = await runFerry(['inspect', '--raw', `oci:${dir}:t`]);
      assert.equal(raw.code, 0, raw.stderr);
      assert.equal(raw.stdout, made.bytes.toString('utf8'));
      const config = await runFerry(['inspect', '--config', '--raw', `oci:${dir}:t`]);
      assert.equal(config.stdout, made.instances[0]?.config.bytes.toString('utf8'));
      const pretty = await runFerry(['inspect', '--config', `oci:${dir}:t`]);
      assert.equal(pretty.code, 0, pretty.stderr);
      assert.match(pretty.stdout, /^\{\n {4}"created": "2024-01-01T00:00:00Z",\n {4}"architecture": "amd64",/);
    });
  });

  it('formats with a template and ends the output with one newline', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 'm', platforms: ['linux/amd64', 'linux/arm64/v8'] });
      const r = await runFerry([
        '--override-arch',
        'arm64',
        'inspect',
        '-f',
        '{{.Digest}} {{.Architecture}}',
        `oci:${dir}:m`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${made.digest} arm64\n`);
      const created = await runFerry(['inspect', '--format', '{{.Created}}', `oci:${dir}:m`]);
      assert.equal(created.stdout, '2024-01-01 00:00:00 +0000 UTC\n');
    });
  });

  it('fails with a clear message on an unknown template function', async () => {
    await withTempDir(async (dir) => {
      await makeImage(dir, { tag: 't' });
      const r = await runFerry(['inspect', '-f', '{{nope .Os}}', `oci:${dir}:t`]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /template: function "nope" not defined/);
    });
  });
});
