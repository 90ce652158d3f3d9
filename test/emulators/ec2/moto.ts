import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

/**
 * moto_server (github.com/getmoto/moto), a third-party AWS emulator, as the EC2 API the
 * amazonec2 driver talks to (through the front in ./front.ts). Found on PATH, as $MOTO_SERVER, or
 * in pyenv's shims; scripts/install-system-deps.sh installs it with `pip install 'moto[server]'`.
 * Missing, it fails the test with that command (never a silent skip).
 */
export function motoServerBinary(): string {
  const candidates = [process.env.MOTO_SERVER, '/root/.pyenv/shims/moto_server'].filter(Boolean) as string[];
  const onPath = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) candidates.unshift(onPath);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      "moto_server not found: install it with `pip install 'moto[server]'` (or set MOTO_SERVER)",
    );
  }
  return found;
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Moto {
  url: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts moto_server on `host` (default 127.0.50.1) at a free port and waits until it answers. */
export async function startMoto(host = '127.0.50.1'): Promise<Moto> {
  const binary = motoServerBinary();
  const port = await freePort(host);
  const child: ChildProcess = spawn(binary, ['-H', host, '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/moto-api/data.json`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${url} within 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async reset() {
      await fetch(`${url}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
