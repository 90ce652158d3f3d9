/**
 * What an emulated droplet runs on: nothing (the fake backend, for pure API tests) or a real
 * systemd + sshd test host container (test/hosts) on the droplet's loopback address.
 */
export interface HostSpec {
  dropletId: number;
  name: string;
  image: string;
  address: string;
  /** Public key lines of the droplet's ssh_keys, authorized for root (and core on Flatcar). */
  authorizedKeys: string;
  /** The droplet's user_data ('' for none): test hosts get it where cloud-init keeps it. */
  userData?: string;
}

export interface HostHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  remove(): Promise<void>;
}

export interface HostBackend {
  readonly kind: string;
  /** Addresses this backend knows to be taken (leftover containers); the emulator skips them. */
  usedAddresses(): Promise<Set<string>>;
  create(spec: HostSpec): Promise<HostHandle>;
}

/** No machine at all: power actions and deletes only change the emulator's records. */
export class FakeHostBackend implements HostBackend {
  readonly kind = 'fake';
  readonly events: string[] = [];

  constructor(private readonly delayMs = 50) {}

  async usedAddresses(): Promise<Set<string>> {
    return new Set();
  }

  async create(spec: HostSpec): Promise<HostHandle> {
    await delay(this.delayMs);
    this.events.push(`create ${spec.dropletId} ${spec.address}`);
    const step = (what: string) => async () => {
      await delay(this.delayMs);
      this.events.push(`${what} ${spec.dropletId}`);
    };
    return {
      start: step('start'),
      stop: step('stop'),
      kill: step('kill'),
      restart: step('restart'),
      remove: step('remove'),
    };
  }
}

/** The test-host variant for an image slug: Flatcar images boot the `flatcar` host, others Debian with Docker. */
export function variantForImage(image: string): 'flatcar' | 'bookworm-docker' {
  return /flatcar|coreos/i.test(image) ? 'flatcar' : 'bookworm-docker';
}

export const CONTAINER_PREFIX = 'moor-do-';

/** Real test hosts (systemd, sshd, Docker preinstalled) from test/hosts. */
export class TestHostBackend implements HostBackend {
  readonly kind = 'test-hosts';

  constructor(private readonly emulatorId: string) {}

  async usedAddresses(): Promise<Set<string>> {
    const { listTestHosts } = await import('../../hosts/index.js');
    return new Set((await listTestHosts()).map((h) => h.address));
  }

  async create(spec: HostSpec): Promise<HostHandle> {
    const { startTestHost } = await import('../../hosts/index.js');
    const host = await startTestHost({
      name: `${CONTAINER_PREFIX}${this.emulatorId}-${spec.dropletId}`,
      hostname: spec.name,
      address: spec.address,
      image: variantForImage(spec.image),
      authorizedKey: spec.authorizedKeys,
      labels: { 'org.moor.do-emulator': this.emulatorId, 'org.moor.do-droplet': String(spec.dropletId) },
    });
    if (spec.userData) {
      await deliverUserData(host, spec.userData).catch(async (err: unknown) => {
        await host.remove();
        throw err;
      });
    }
    return {
      start: () => host.start(),
      stop: () => host.stop(),
      kill: () => host.kill(),
      restart: () => host.restart(),
      remove: () => host.remove(),
    };
  }
}

/**
 * Test hosts run no cloud-init: the user-data is put where cloud-init keeps what it was given
 * (`/var/lib/cloud/instance/user-data.txt`), so a test can read on the host what reached it.
 */
export const USER_DATA_PATH = '/var/lib/cloud/instance/user-data.txt';

export async function deliverUserData(
  host: { exec(cmd: string, opts?: { input?: string }): Promise<{ exitCode: number; stderr: string }> },
  userData: string,
): Promise<void> {
  const result = await host.exec(`mkdir -p /var/lib/cloud/instance && cat > ${USER_DATA_PATH}`, {
    input: userData,
  });
  if (result.exitCode !== 0)
    throw new Error(`could not write the user-data to the test host: ${result.stderr}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
