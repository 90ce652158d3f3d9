import { deliverUserData } from '../digitalocean/backends.js';

/**
 * What an emulated instance runs on: nothing (the fake backend, for pure API tests) or a real
 * systemd + sshd test host (test/hosts, Docker preinstalled) on the instance's loopback address.
 * The guest agent's job is done here too: each `ssh-keys` metadata line USER:KEY becomes an
 * account USER with that key and passwordless sudo, as on a Compute Engine image.
 */
export interface SshKeyEntry {
  user: string;
  key: string;
}

export interface InstanceHostSpec {
  instanceId: string;
  name: string;
  address: string;
  sshKeys: SshKeyEntry[];
  /** The `user-data` metadata item ('' for none): test hosts get it where cloud-init keeps it. */
  userData?: string;
}

export interface InstanceHost {
  start(): Promise<void>;
  stop(): Promise<void>;
  restart(): Promise<void>;
  remove(): Promise<void>;
  /** The guest agent applying changed `ssh-keys` metadata. */
  setSshKeys(keys: SshKeyEntry[]): Promise<void>;
}

export interface InstanceBackend {
  readonly kind: string;
  usedAddresses(): Promise<Set<string>>;
  create(spec: InstanceHostSpec): Promise<InstanceHost>;
}

/** `docker-user:ssh-rsa AAAA… docker-user` lines → entries (malformed lines are skipped, as the agent does). */
export function parseSshKeys(value: string): SshKeyEntry[] {
  return value
    .split('\n')
    .map((line) => /^([a-z_][a-z0-9_.-]{0,31}):((?:ssh-|ecdsa-)\S+ \S+)/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ user: m[1]!, key: m[2]! }));
}

export class FakeInstanceBackend implements InstanceBackend {
  readonly kind = 'fake';
  readonly events: string[] = [];

  constructor(private readonly delayMs = 30) {}

  async usedAddresses(): Promise<Set<string>> {
    return new Set();
  }

  async create(spec: InstanceHostSpec): Promise<InstanceHost> {
    await delay(this.delayMs);
    this.events.push(`create ${spec.name} ${spec.address}`);
    const step = (what: string) => async () => {
      await delay(this.delayMs);
      this.events.push(`${what} ${spec.name}`);
    };
    return {
      start: step('start'),
      stop: step('stop'),
      restart: step('restart'),
      remove: step('remove'),
      setSshKeys: step('ssh-keys'),
    };
  }
}

export const CONTAINER_PREFIX = 'moor-gce-';

/** A shell script for the host: accounts with keys and sudo, like google-guest-agent's accounts daemon. */
export function guestAgentScript(keys: SshKeyEntry[]): string {
  const users = new Map<string, string[]>();
  for (const { user, key } of keys) users.set(user, [...(users.get(user) ?? []), key]);
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  return [
    'set -e',
    ...[...users].flatMap(([user, lines]) => [
      `id -u ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash ${user}`,
      `install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh`,
      `printf '%s\\n' ${lines.map(quote).join(' ')} > /home/${user}/.ssh/authorized_keys`,
      `chown ${user}:${user} /home/${user}/.ssh/authorized_keys && chmod 600 /home/${user}/.ssh/authorized_keys`,
      `echo '${user} ALL=(ALL:ALL) NOPASSWD:ALL' > /etc/sudoers.d/google_${user} && chmod 440 /etc/sudoers.d/google_${user}`,
    ]),
  ].join('\n');
}

export class TestHostInstanceBackend implements InstanceBackend {
  readonly kind = 'test-hosts';

  constructor(private readonly emulatorId: string) {}

  async usedAddresses(): Promise<Set<string>> {
    const { listTestHosts } = await import('../../hosts/index.js');
    return new Set((await listTestHosts()).map((h) => h.address));
  }

  async create(spec: InstanceHostSpec): Promise<InstanceHost> {
    const { startTestHost } = await import('../../hosts/index.js');
    const host = await startTestHost({
      name: `${CONTAINER_PREFIX}${this.emulatorId}-${spec.instanceId}`,
      hostname: spec.name,
      address: spec.address,
      image: 'bookworm-docker',
      authorizedKey: '',
      labels: { 'org.moor.gce-emulator': this.emulatorId, 'org.moor.gce-instance': spec.name },
    });
    const setSshKeys = async (keys: SshKeyEntry[]) => {
      const result = await host.exec(['sh', '-c', guestAgentScript(keys)]);
      if (result.exitCode !== 0) throw new Error(`guest agent on ${spec.name}: ${result.stderr}`);
    };
    try {
      await setSshKeys(spec.sshKeys);
      if (spec.userData) await deliverUserData(host, spec.userData);
    } catch (err) {
      await host.remove();
      throw err;
    }
    return {
      start: () => host.start(),
      stop: () => host.stop(),
      restart: () => host.restart(),
      remove: () => host.remove(),
      setSshKeys,
    };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
