/**
 * The stage the fault matrix and the soak share: two real registries, each behind a fault proxy,
 * synthetic images (single and multi-arch) in an OCI layout and already pushed to the first
 * registry, and one function per kind of copy that runs it under a hard timeout and judges the
 * result: success (exact digests, every blob read back), failed cleanly (a FerryError, the
 * destination whole), corrupt, untyped failure, or hang.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CopyOptions, ImageOptions } from '../../src/index.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  checkLayout,
  checkRegistryTag,
  copyWithin,
  describeError,
  isTypedFailure,
  skopeoCopyProblem,
  skopeoDigest,
} from './check.js';

export type Direction = 'push' | 'pull' | 'copy';
export type Verdict = 'success' | 'clean' | 'corrupt' | 'untyped' | 'hang';

export interface Judged {
  verdict: Verdict;
  /** The error or the problems found, for the report. */
  detail: string;
  ms: number;
  /** FerryError code of a failed copy. */
  code?: string;
}

export interface StageOptions {
  /** Images in the source: `single` single-arch ones and `multi` two-platform ones (default 1 each). */
  single?: number;
  multi?: number;
  layerSize?: number;
  /** Hard timeout of one copy (default 30 s). */
  copyTimeoutMs?: number;
  /** How long a stall fault holds a request (default 3 s). */
  stallMs?: number;
  /** Registry options for every copy (retry settings, ...). */
  registryOptions?: ImageOptions;
  /** Run `skopeo inspect` of every successful destination (default true). */
  skopeo?: boolean;
  /** Also `skopeo copy` every successful destination (skopeo reads and verifies every blob; default false). */
  skopeoCopy?: boolean;
}

type StageSettings = Required<Omit<StageOptions, 'registryOptions'>> & { registryOptions: ImageOptions };

export interface StagedImage {
  name: string;
  made: MadeImage;
  multi: boolean;
}

export class FaultStage {
  readonly dir: string;
  readonly a: TestRegistry;
  readonly b: TestRegistry;
  readonly pa: FaultProxy;
  readonly pb: FaultProxy;
  readonly images: StagedImage[];
  readonly source: string;
  /** A layout holding one unrelated image (`keep`), copied as the start of every pull destination. */
  readonly keepLayout: string;
  readonly keep: MadeImage;
  readonly #o: StageSettings;
  #n = 0;

  private constructor(init: {
    dir: string;
    a: TestRegistry;
    b: TestRegistry;
    pa: FaultProxy;
    pb: FaultProxy;
    images: StagedImage[];
    source: string;
    keepLayout: string;
    keep: MadeImage;
    o: StageSettings;
  }) {
    this.dir = init.dir;
    this.a = init.a;
    this.b = init.b;
    this.pa = init.pa;
    this.pb = init.pb;
    this.images = init.images;
    this.source = init.source;
    this.keepLayout = init.keepLayout;
    this.keep = init.keep;
    this.#o = init.o;
  }

  static async start(options: StageOptions = {}): Promise<FaultStage> {
    const o: StageSettings = {
      single: options.single ?? 1,
      multi: options.multi ?? 1,
      layerSize: options.layerSize ?? 96 * 1024,
      copyTimeoutMs: options.copyTimeoutMs ?? 30_000,
      stallMs: options.stallMs ?? 3000,
      skopeo: options.skopeo ?? true,
      skopeoCopy: options.skopeoCopy ?? false,
      registryOptions: { tlsVerify: false, ...options.registryOptions },
    };
    const dir = await makeTempDir('ferry-faults-');
    const regs: TestRegistry[] = [];
    try {
      const [a, b] = await Promise.all([startRegistry(), startRegistry()]);
      regs.push(a, b);
      const [pa, pb] = await Promise.all([
        startFaultProxy({ port: a.port, restart: () => a.restart() }, { stallMs: o.stallMs }),
        startFaultProxy({ port: b.port, restart: () => b.restart() }, { stallMs: o.stallMs }),
      ]);
      const source = join(dir, 'source');
      const images: StagedImage[] = [];
      for (let i = 0; i < o.single + o.multi; i++) {
        const multi = i >= o.single;
        const name = multi ? `multi${i - o.single}` : `single${i}`;
        const made = await makeImage(source, {
          tag: name,
          seed: 100 + i,
          layers: 2,
          layerSize: o.layerSize,
          ...(multi ? { platforms: ['linux/amd64', 'linux/arm64/v8'] } : {}),
        });
        images.push({ name, made, multi });
      }
      const keepLayout = join(dir, 'keep');
      const keep = await makeImage(keepLayout, { tag: 'keep', seed: 7, layers: 1, layerSize: 8192 });
      const stage = new FaultStage({ dir, a, b, pa, pb, images, source, keepLayout, keep, o });
      // The pull and copy sources, pushed straight to registry a (no proxy).
      for (const img of images) {
        const r = await copyWithin(
          `oci:${source}:${img.name}`,
          `docker://${a.host}/src/${img.name}:v1`,
          stage.copyOptions(img),
          60_000,
        );
        if (r.kind !== 'ok')
          throw new Error(`staging ${img.name}: ${r.kind === 'error' ? describeError(r.error) : 'hang'}`);
      }
      return stage;
    } catch (e) {
      await Promise.all(regs.map((r) => r.stop()));
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  copyOptions(img: StagedImage): CopyOptions {
    return {
      sourceOptions: this.#o.registryOptions,
      destinationOptions: this.#o.registryOptions,
      imageListSelection: img.multi ? 'all' : 'system',
    };
  }

  /** Runs one copy of `img` in `direction` (through the proxies) and judges it. */
  async run(direction: Direction, img: StagedImage): Promise<Judged> {
    const n = ++this.#n;
    const want = img.made.digest;
    if (direction === 'push') {
      const repo = `push/${img.name}-${n}`;
      const out = await copyWithin(
        `oci:${this.source}:${img.name}`,
        `docker://${this.pa.host}/${repo}:v1`,
        this.copyOptions(img),
        this.#o.copyTimeoutMs,
      );
      await this.pa.settled();
      return this.#judgeRegistry(out, this.a, repo, want);
    }
    if (direction === 'copy') {
      const repo = `copy/${img.name}-${n}`;
      const out = await copyWithin(
        `docker://${this.pa.host}/src/${img.name}:v1`,
        `docker://${this.pb.host}/${repo}:v1`,
        this.copyOptions(img),
        this.#o.copyTimeoutMs,
      );
      await Promise.all([this.pa.settled(), this.pb.settled()]);
      return this.#judgeRegistry(out, this.b, repo, want);
    }
    const layout = join(this.dir, `pull-${n}`);
    await cp(this.keepLayout, layout, { recursive: true });
    try {
      const out = await copyWithin(
        `docker://${this.pa.host}/src/${img.name}:v1`,
        `oci:${layout}:${img.name}`,
        this.copyOptions(img),
        this.#o.copyTimeoutMs,
      );
      await this.pa.settled();
      return await this.#judgeLayout(out, layout, img.name, want);
    } finally {
      await rm(layout, { recursive: true, force: true });
    }
  }

  async #judgeRegistry(
    out: Awaited<ReturnType<typeof copyWithin>>,
    reg: TestRegistry,
    repo: string,
    want: string,
  ): Promise<Judged> {
    if (out.kind === 'hang')
      return { verdict: 'hang', detail: `no end within ${this.#o.copyTimeoutMs} ms`, ms: out.ms };
    const tag = await checkRegistryTag(reg.url, repo, 'v1', want);
    if (out.kind === 'ok') {
      const problems = [...tag.problems];
      if (!tag.present) problems.push(`${repo}:v1 missing after a copy that succeeded`);
      if (out.result.manifestDigest !== want) problems.push(`copy returned ${out.result.manifestDigest}, want ${want}`);
      if (problems.length === 0 && this.#o.skopeo) {
        problems.push(...(await this.#skopeoCheck(`docker://${reg.host}/${repo}:v1`, want)));
      }
      return problems.length === 0
        ? { verdict: 'success', detail: '', ms: out.ms }
        : { verdict: 'corrupt', detail: problems.join('; '), ms: out.ms };
    }
    return this.#judgeFailure(out.error, tag.problems, out.ms);
  }

  async #judgeLayout(
    out: Awaited<ReturnType<typeof copyWithin>>,
    layout: string,
    tag: string,
    want: string,
  ): Promise<Judged> {
    if (out.kind === 'hang')
      return { verdict: 'hang', detail: `no end within ${this.#o.copyTimeoutMs} ms`, ms: out.ms };
    const state = await checkLayout(layout);
    const problems = [...state.problems];
    if (state.tags.get('keep') !== this.keep.digest)
      problems.push(`the image already there (keep) is ${state.tags.get('keep') ?? 'gone'}`);
    const got = state.tags.get(tag);
    if (got !== undefined && got !== want) problems.push(`${tag} is ${got}, want ${want}`);
    if (out.kind === 'ok') {
      if (got === undefined) problems.push(`${tag} missing after a copy that succeeded`);
      if (out.result.manifestDigest !== want) problems.push(`copy returned ${out.result.manifestDigest}, want ${want}`);
      if (problems.length === 0 && this.#o.skopeo) {
        problems.push(...(await this.#skopeoCheck(`oci:${layout}:${tag}`, want)));
      }
      return problems.length === 0
        ? { verdict: 'success', detail: '', ms: out.ms }
        : { verdict: 'corrupt', detail: problems.join('; '), ms: out.ms };
    }
    return this.#judgeFailure(out.error, problems, out.ms);
  }

  async #skopeoCheck(ref: string, want: string): Promise<string[]> {
    const seen = await skopeoDigest(ref);
    if (seen !== want) return [`skopeo inspect ${ref}: ${seen}`];
    if (!this.#o.skopeoCopy) return [];
    const out = join(this.dir, `skopeo-${this.#n}`);
    try {
      const problem = await skopeoCopyProblem(ref, `oci:${out}:x`);
      return problem === undefined ? [] : [problem];
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }

  #judgeFailure(error: unknown, problems: string[], ms: number): Judged {
    const detail = describeError(error);
    if (problems.length > 0)
      return { verdict: 'corrupt', detail: `${detail}; left behind: ${problems.join('; ')}`, ms };
    if (!isTypedFailure(error)) return { verdict: 'untyped', detail, ms };
    return { verdict: 'clean', detail, ms, code: error.code };
  }

  /** Problems with the images staged in registry a before any fault (each read back whole); [] when all are intact. */
  async sourceProblems(): Promise<string[]> {
    const problems: string[] = [];
    for (const img of this.images) {
      problems.push(...(await checkRegistryTag(this.a.url, `src/${img.name}`, 'v1', img.made.digest)).problems);
    }
    return problems;
  }

  /** Removes every rule and random setting from both proxies. */
  calm(): void {
    for (const p of [this.pa, this.pb]) {
      p.setRules([]);
      p.setRandom(undefined);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.pa.stop(), this.pb.stop()]);
    await Promise.all([this.a.stop(), this.b.stop()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
