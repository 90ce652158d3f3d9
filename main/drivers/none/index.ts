import { MoorError } from '../../base/errors.js';
import type { MachineState } from '../../base/state.js';
import { isEngineUrl } from '../../docker/engine-url.js';
import type { BaseDriverConfig, HostConfig } from '../../store/config.js';
import { authPaths } from '../../store/paths.js';
import type { Driver, DriverContext, DriverModule } from '../types.js';

interface NoneConfig extends BaseDriverConfig {
  URL: string;
}

/** How long `state()` waits for the engine; `ls` bounds it further with its own timeout. */
const PING_TIMEOUT_MS = 5_000;

/** The host:port of a URL with a scheme, as Go's url.Parse gives it; "" for a string without one. */
function urlHost(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return '';
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** An existing Docker engine, known only by its URL: nothing to create, start or stop. */
const none: DriverModule = {
  name: 'none',
  description: 'An existing Docker engine, reached at --url (no VM, no provisioning)',
  capabilities: { actions: [], ssh: false, removes: '', restartReboots: false },
  provisions: false,
  flags: [
    {
      name: 'url',
      label: 'Engine URL',
      group: 'common',
      type: 'string',
      help: 'URL of host when no driver is selected',
      default: '',
      required: true,
    },
  ],

  configFromFlags(values, base) {
    const url = String(values.url ?? '');
    if (!url) throw new MoorError('--url option is required when no driver is selected');
    // Any string is accepted, as docker-machine does (`--url none`); docker-machine records the
    // URL's host:port as the "IP" of a none machine, and "" when the string has no host.
    return {
      ...base,
      IPAddress: urlHost(url),
      SSHUser: '',
      SSHPort: 0,
      SSHKeyPath: '',
      URL: url,
    } as NoneConfig;
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
        // A URL that names no engine (`--url none`) cannot be asked: docker-machine's Running.
        if (!host || !isEngineUrl(cfg.URL)) return 'Running';
        // The engine client (https, tls) loads only here: `moor url` and `create` never ask.
        const { EngineUnreachableError, pingEngine, readEngineTls } = await import('../../docker/engine.js');
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
