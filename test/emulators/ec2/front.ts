import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { leaseAddress, releaseAddress } from '../digitalocean/addresses.js';
import {
  FakeHostBackend,
  type HostBackend,
  type HostHandle,
  TestHostBackend,
} from '../digitalocean/backends.js';
import { readBody } from '../http-body.js';
import { type Moto, startMoto } from './moto.js';

/**
 * A test-only front for moto_server's EC2 API. Every request goes to moto unchanged (moto keeps
 * all the EC2 state: VPCs, key pairs, security groups, instances, tags); the front only
 * - starts a real test host (systemd + sshd + Docker, test/hosts) for each instance RunInstances
 *   made, with the imported key pair's public key authorized for root, on a loopback address of
 *   127.0.50.10–127.0.54.254, with the instance's user-data where cloud-init keeps it, and
 *   stops/starts/reboots/removes it with the instance;
 * - rewrites the instance's addresses in every answer to that host's address, so moto's invented
 *   IPs are never dialled;
 * - refuses user-data over EC2's 16 KiB (moto does not);
 * - injects faults (an error, a dropped connection, before or after moto handled the request) and
 *   calls `onRequest` at each step, which the fault suite uses to kill `moor create` there.
 */

export interface Ec2Fault {
  /** The EC2 Action (RunInstances, ImportKeyPair, ...); omitted: any. */
  action?: string;
  /** HTTP status of the injected error (default 500 with code InternalError). */
  status?: number;
  code?: string;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Let moto handle the request first (the resource exists), then fail the answer. */
  afterCommit?: boolean;
  times?: number;
}

interface Mapped {
  address: string;
  host?: HostHandle;
  booting?: Promise<void>;
}

// Tests build their own EC2 clients (to look at moto's state): no Node-version notice from the SDK.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const EC2_HOST_RANGE = { first: '127.0.50.10', last: '127.0.54.254' };

export class Ec2Front {
  readonly id = `ec2${randomBytes(3).toString('hex')}`;
  /** Every API request: action, HTTP status answered. */
  readonly requests: Array<{ action: string; status: number; params: URLSearchParams; accessKey: string }> =
    [];
  readonly backgroundErrors: string[] = [];
  onRequest?: (
    request: { index: number; action: string },
    phase: 'before' | 'after',
  ) => Promise<'drop' | undefined> | 'drop' | undefined;
  private server?: http.Server;
  private baseUrl = '';
  private faults: Ec2Fault[] = [];
  private readonly keys = new Map<string, string>();
  private readonly instances = new Map<string, Mapped>();
  private readonly backend: HostBackend;
  private hostCounter = 0;
  private steps = 0;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly moto: Moto,
    backend: 'fake' | 'test-hosts',
  ) {
    this.backend = backend === 'fake' ? new FakeHostBackend(5) : new TestHostBackend(this.id);
  }

  get url(): string {
    return this.baseUrl;
  }

  injectFault(fault: Ec2Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The test host address of an instance (what every answer shows as its IPs). */
  addressOf(instanceId: string): string | undefined {
    return this.instances.get(instanceId)?.address;
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async start(host = '127.0.50.1'): Promise<string> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.backgroundErrors.push(String(err));
        if (!res.headersSent) res.writeHead(500);
        res.end(errorXml('InternalError', String(err)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    this.baseUrl = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Removes every instance's host, stops listening (moto is the caller's). */
  async close(): Promise<void> {
    await this.idle();
    for (const [id] of this.instances) await this.removeHost(id);
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private track<T>(work: Promise<T>): Promise<T> {
    const p = work.catch((err) => {
      this.backgroundErrors.push(String(err));
      return undefined as T;
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private takeFault(action: string): Ec2Fault | undefined {
    const i = this.faults.findIndex((f) => !f.action || f.action === action);
    if (i < 0) return undefined;
    const f = this.faults[i]!;
    f.times = (f.times ?? 1) - 1;
    if (f.times <= 0) this.faults.splice(i, 1);
    return f;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const params = new URLSearchParams(body);
    const action = params.get('Action') ?? '';
    const accessKey = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const log = { action, status: 0, params, accessKey };
    this.requests.push(log);
    const step = { index: this.steps++, action };
    const fail = (status: number, code: string) => {
      log.status = status;
      res.writeHead(status, { 'Content-Type': 'text/xml' });
      res.end(errorXml(code, 'Injected fault'));
    };
    if ((await this.onRequest?.(step, 'before')) === 'drop') return void res.socket?.destroy();
    const fault = this.takeFault(action);
    if (fault && !fault.afterCommit) {
      if (fault.drop) return void res.socket?.destroy();
      return fail(fault.status ?? 500, fault.code ?? 'InternalError');
    }

    // EC2's limit, which moto does not check: 16 KiB of user-data before base64.
    const userData = Buffer.from(params.get('UserData') ?? '', 'base64');
    if (action === 'RunInstances' && userData.length > 16 * 1024) {
      log.status = 400;
      res.writeHead(400, { 'Content-Type': 'text/xml' });
      return void res.end(errorXml('InvalidParameterValue', 'User data is limited to 16384 bytes'));
    }

    if (action === 'ImportKeyPair') {
      const name = params.get('KeyName') ?? '';
      const material = Buffer.from(params.get('PublicKeyMaterial') ?? '', 'base64').toString('utf8');
      this.keys.set(name, material.trim());
    }
    const ids = instanceIds(params);
    // Power actions reach the host before moto answers: the state a client then reads is true.
    if (action === 'StopInstances')
      for (const id of ids)
        await this.hostOf(id, (h) => (params.get('Force') === 'true' ? h.kill() : h.stop()));
    if (action === 'StartInstances') for (const id of ids) await this.hostOf(id, (h) => h.start());
    if (action === 'RebootInstances') for (const id of ids) await this.hostOf(id, (h) => h.restart());

    const upstream = await fetch(`${this.moto.url}${req.url ?? '/'}`, {
      method: req.method,
      headers: forwardHeaders(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
    });
    let text = await upstream.text();

    if (upstream.ok && action === 'RunInstances') {
      const keyName = params.get('KeyName') ?? '';
      for (const id of text.match(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g) ?? []) {
        const instanceId = id.replace(/<\/?instanceId>/g, '');
        if (!this.instances.has(instanceId))
          await this.startHost(instanceId, this.keys.get(keyName) ?? '', userData.toString('utf8'));
      }
    }
    // EC2 answers a terminate at once (shutting-down); the host goes in the background.
    if (upstream.ok && action === 'TerminateInstances')
      for (const id of ids) void this.track(this.removeHost(id));
    text = this.rewriteAddresses(text);

    if ((await this.onRequest?.(step, 'after')) === 'drop') return void res.socket?.destroy();
    if (fault?.afterCommit) {
      if (fault.drop) return void res.socket?.destroy();
      return fail(fault.status ?? 500, fault.code ?? 'InternalError');
    }
    log.status = upstream.status;
    res.writeHead(upstream.status, { 'Content-Type': upstream.headers.get('content-type') ?? 'text/xml' });
    res.end(text);
  }

  private async startHost(instanceId: string, authorizedKeys: string, userData: string): Promise<void> {
    const skip = await this.backend.usedAddresses();
    const address = await leaseAddress(skip, EC2_HOST_RANGE);
    const mapped: Mapped = { address };
    this.instances.set(instanceId, mapped);
    mapped.booting = this.track(
      (async () => {
        mapped.host = await this.backend.create({
          dropletId: ++this.hostCounter,
          name: instanceId,
          image: 'ubuntu',
          address,
          authorizedKeys,
          userData,
        });
      })(),
    );
  }

  private async hostOf(id: string, act: (h: HostHandle) => Promise<void>): Promise<void> {
    const mapped = this.instances.get(id);
    if (!mapped) return;
    await mapped.booting;
    if (mapped.host) await act(mapped.host);
  }

  private async removeHost(id: string): Promise<void> {
    const mapped = this.instances.get(id);
    if (!mapped) return;
    this.instances.delete(id);
    await mapped.booting;
    await this.track(
      (async () => {
        await mapped.host?.remove();
        await releaseAddress(mapped.address);
      })(),
    );
  }

  /**
   * Each instance's IPv4 addresses (public and private, in every answer: RunInstances,
   * DescribeInstances, ...) become its host's address. An instance's fields run from its
   * `<instanceId>` to the next one, which is where they are replaced.
   */
  private rewriteAddresses(xml: string): string {
    const parts = xml.split('<instanceId>');
    return parts
      .map((part, i) => {
        if (i === 0) return part;
        const id = part.slice(0, part.indexOf('<'));
        const address = this.instances.get(id)?.address;
        if (!address) return part;
        return part.replace(/>(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})</g, `>${address}<`);
      })
      .join('<instanceId>');
  }
}

function instanceIds(params: URLSearchParams): string[] {
  const ids: string[] = [];
  for (const [k, v] of params) if (/^InstanceId\.\d+$/.test(k)) ids.push(v);
  return ids;
}

function forwardHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || ['host', 'content-length', 'connection'].includes(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${randomBytes(8).toString('hex')}</RequestID></Response>`;
}

/** moto_server on 127.0.50.1 and a front before it (its URL is what --amazonec2-endpoint gets). */
export async function startEc2Emulator(backend: 'fake' | 'test-hosts' = 'fake'): Promise<Ec2Front> {
  const moto = await startMoto();
  const front = new Ec2Front(moto, backend);
  await front.start();
  return front;
}
