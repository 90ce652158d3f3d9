import { MoorError } from '../../base/errors.js';
import type { MachineState } from '../../base/state.js';
import { EngineUnreachableError, pingEngine, readEngineTls } from '../../docker/engine.js';
import type { BaseDriverConfig, HostConfig } from '../../store/config.js';
import { authPaths } from '../../store/paths.js';
import type { Driver, DriverContext, DriverModule } from '../types.js';

interface NoneConfig extends BaseDriverConfig {
  URL: string;
}

/** How long `state()` waits for the engine; `ls` bounds it further with its own timeout. */
const PING_TIMEOUT_MS = 5_000;

/** An existing Docker engine, known only by its URL: nothing to create, start or stop. */
const none: DriverModule = {
  name: 'none',
  description: 'An existing Docker engine, reached at --url (no VM, no provisioning)',
  capabilities: { actions: [], ssh: false, removes: '', restartReboots: false },
  provisions: false,
  flags: [
    {
      name: 'url',
      type: 'string',
      help: 'URL of host when no driver is selected',
      default: '',
      required: true,
    },
  ],

  configFromFlags(values, base) {
    const url = String(values.url ?? '');
    if (!url) throw new MoorError('--url option is required when no driver is selected');
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      throw new MoorError(`--url "${url}" is not a URL (expected tcp://host:port)`);
    }
    // docker-machine records host:port as the "IP" of a none machine.
    return { ...base, IPAddress: host, SSHUser: '', SSHPort: 0, SSHKeyPath: '', URL: url } as NoneConfig;
  },

  open(config, ctx: DriverContext, host?: HostConfig): Driver {
    const cfg = config as NoneConfig;
    const unsupported = (verb: string) => async () => {
      throw new MoorError(`hosts without a driver cannot be ${verb}`);
    };
    return {
      config,
      preCreateCheck: async () => {},
      create: async () => {},
      remove: async () => {},
      start: unsupported('started'),
      stop: unsupported('stopped'),
      restart: unsupported('restarted'),
      kill: unsupported('killed'),
      ip: async () => cfg.IPAddress,
      url: async () => cfg.URL,
      sshTarget: async () => null,
      async state(): Promise<MachineState> {
        // docker-machine assumed Running; asking the engine tells a dead host from a live one.
        if (!host) return 'Running';
        const tls = await readEngineTls(authPaths(host, ctx.storePath));
        try {
          await pingEngine(cfg.URL, tls, PING_TIMEOUT_MS, ctx.signal);
          return 'Running';
        } catch (err) {
          if (err instanceof EngineUnreachableError && err.code === 'ECONNREFUSED') return 'Stopped';
          throw err;
        }
      },
    };
  },
};

export default none;
