/** What docker-machine 0.16.2 writes and takes, as the tests expect Moor to match it. */

/** The Driver object's first keys, in order: docker-machine's embedded drivers.BaseDriver. */
export const BASE_DRIVER_KEYS = [
  'IPAddress',
  'MachineName',
  'SSHUser',
  'SSHPort',
  'SSHKeyPath',
  'StorePath',
  'SwarmMaster',
  'SwarmHost',
  'SwarmDiscovery',
] as const;

/** The generic driver's whole Driver object, in order. */
export const GENERIC_DRIVER_KEYS = [...BASE_DRIVER_KEYS, 'EnginePort', 'SSHKey'] as const;

/**
 * The engine and TLS flags the fixture store's `gen` machine was created with
 * (test/fixtures/docker-machine-0.16.2-store), one of each kind, `--tls-san` twice.
 */
export const ENGINE_TLS_FLAGS = [
  '--engine-label',
  'spam=eggs',
  '--engine-insecure-registry',
  'registry.myco.com',
  '--engine-registry-mirror',
  'https://mirror.example.com',
  '--engine-env',
  'TEST=VALUE',
  '--engine-opt',
  'log-driver=none',
  '--tls-san',
  'foo.bar.tld',
  '--tls-san',
  '10.42.42.42',
] as const;
