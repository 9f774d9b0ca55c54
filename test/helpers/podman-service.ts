/**
 * A real daemon speaking the Docker Engine API for docker-daemon: tests: podman's Docker-compatible
 * service (`podman system service --time=0 unix://SOCKET`), with its own private store (vfs driver,
 * `--root`/`--runroot` under a temp dir, never the machine's own). `podman()` runs the podman CLI on
 * the same store, to check what the service holds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { type RunResult, run } from './run.js';
import { makeTempDir } from './tmp.js';

export interface PodmanService {
  /** `unix:///.../podman.sock`, for `--daemon-host` / DOCKER_HOST. */
  host: string;
  socket: string;
  /** Runs `podman` on the service's store. */
  podman(args: readonly string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

export async function startPodmanService(): Promise<PodmanService> {
  const dir = await makeTempDir('ferry-podman-');
  const socket = path.join(dir, 'podman.sock');
  const storeArgs = [
    '--root',
    path.join(dir, 'root'),
    '--runroot',
    path.join(dir, 'runroot'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  await mkdir(path.join(dir, 'tmp'));
  // Podman's own temp files (an uploaded archive) stay in the test's dir too.
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: path.join(dir, 'tmp') };
  delete env.DOCKER_HOST;
  const child: ChildProcess = spawn('podman', [...storeArgs, 'system', 'service', '--time=0', `unix://${socket}`], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 30_000;
  while (!(await ping(socket))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`podman system service did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    host: `unix://${socket}`,
    socket,
    podman: (args) => run('podman', [...storeArgs, ...args], { env }),
    async stop() {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      // vfs layers are plain directories; podman may leave read-only ones behind.
      await run('chmod', ['-R', 'u+w', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
