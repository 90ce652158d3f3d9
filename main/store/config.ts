/**
 * The shape of docker-machine's `machines/<name>/config.json` (ConfigVersion 3). Field names and
 * order follow libmachine's Go structs so a file written here loads in docker-machine 0.16.2 and back.
 * Objects are kept as parsed: unknown fields survive a load/save round trip untouched.
 */

export const CONFIG_VERSION = 3;

/** Fields every driver's JSON starts with (libmachine/drivers/base.go). */
export interface BaseDriverConfig {
  IPAddress: string;
  MachineName: string;
  SSHUser: string;
  SSHPort: number;
  SSHKeyPath: string;
  StorePath: string;
  SwarmMaster: boolean;
  SwarmHost: string;
  SwarmDiscovery: string;
  [extra: string]: unknown;
}

/** The base fields of a driver's config.json object, in docker-machine's order (drivers embed it first). */
export function baseDriverFields(c: BaseDriverConfig): BaseDriverConfig {
  return {
    IPAddress: c.IPAddress,
    MachineName: c.MachineName,
    SSHUser: c.SSHUser,
    SSHPort: c.SSHPort,
    SSHKeyPath: c.SSHKeyPath,
    StorePath: c.StorePath,
    SwarmMaster: c.SwarmMaster,
    SwarmHost: c.SwarmHost,
    SwarmDiscovery: c.SwarmDiscovery,
  };
}

export interface EngineOptions {
  ArbitraryFlags: string[] | null;
  Dns: string[] | null;
  GraphDir: string;
  Env: string[] | null;
  Ipv6: boolean;
  InsecureRegistry: string[] | null;
  Labels: string[] | null;
  LogLevel: string;
  StorageDriver: string;
  SelinuxEnabled: boolean;
  TlsVerify: boolean;
  RegistryMirror: string[] | null;
  InstallURL: string;
  [extra: string]: unknown;
}

export interface SwarmOptions {
  IsSwarm: boolean;
  Address: string;
  Discovery: string;
  Agent: boolean;
  Master: boolean;
  Host: string;
  Image: string;
  Strategy: string;
  Heartbeat: number;
  Overcommit: number;
  ArbitraryFlags: string[] | null;
  ArbitraryJoinFlags: string[] | null;
  Env: string[] | null;
  IsExperimental: boolean;
  [extra: string]: unknown;
}

export interface AuthOptions {
  CertDir: string;
  CaCertPath: string;
  CaPrivateKeyPath: string;
  CaCertRemotePath: string;
  ServerCertPath: string;
  ServerKeyPath: string;
  ClientKeyPath: string;
  ServerCertRemotePath: string;
  ServerKeyRemotePath: string;
  ClientCertPath: string;
  ServerCertSANs: string[] | null;
  StorePath: string;
  [extra: string]: unknown;
}

export interface HostOptions {
  Driver: string;
  Memory: number;
  Disk: number;
  EngineOptions: EngineOptions;
  SwarmOptions: SwarmOptions;
  AuthOptions: AuthOptions;
  [extra: string]: unknown;
}

export interface HostConfig {
  ConfigVersion: number;
  Driver: BaseDriverConfig;
  DriverName: string;
  HostOptions: HostOptions;
  Name: string;
  [extra: string]: unknown;
}

export const DEFAULT_ENGINE_INSTALL_URL = 'https://get.docker.com';
export const DEFAULT_ENGINE_PORT = 2376;

export function baseDriverConfig(machineName: string, storePath: string): BaseDriverConfig {
  return {
    IPAddress: '',
    MachineName: machineName,
    SSHUser: 'root',
    SSHPort: 22,
    SSHKeyPath: '',
    StorePath: storePath,
    SwarmMaster: false,
    SwarmHost: '',
    SwarmDiscovery: '',
  };
}

export interface NewHostOptions {
  name: string;
  storePath: string;
  driverName: string;
  driver: BaseDriverConfig;
  engine?: Partial<EngineOptions>;
  swarm?: Partial<SwarmOptions>;
  /** Extra SANs for the server certificate (--tls-san). */
  tlsSans?: string[];
  /** Overrides of the store's CA/client cert paths (--tls-ca-cert & co). */
  tlsPaths?: Partial<
    Pick<AuthOptions, 'CaCertPath' | 'CaPrivateKeyPath' | 'ClientCertPath' | 'ClientKeyPath'>
  >;
}

/** A fresh config.json object, with every field docker-machine writes, in its order. */
export function newHostConfig(o: NewHostOptions): HostConfig {
  const certDir = `${o.storePath}/certs`;
  const machineDir = `${o.storePath}/machines/${o.name}`;
  return {
    ConfigVersion: CONFIG_VERSION,
    Driver: o.driver,
    DriverName: o.driverName,
    HostOptions: {
      Driver: '',
      Memory: 0,
      Disk: 0,
      EngineOptions: {
        ArbitraryFlags: [],
        Dns: null,
        GraphDir: '',
        Env: [],
        Ipv6: false,
        InsecureRegistry: [],
        Labels: [],
        LogLevel: '',
        StorageDriver: '',
        SelinuxEnabled: false,
        TlsVerify: true,
        RegistryMirror: [],
        InstallURL: DEFAULT_ENGINE_INSTALL_URL,
        ...o.engine,
      },
      SwarmOptions: {
        IsSwarm: false,
        Address: '',
        Discovery: '',
        Agent: false,
        Master: false,
        Host: 'tcp://0.0.0.0:3376',
        Image: 'swarm:latest',
        Strategy: 'spread',
        Heartbeat: 0,
        Overcommit: 0,
        ArbitraryFlags: [],
        ArbitraryJoinFlags: [],
        Env: null,
        IsExperimental: false,
        ...o.swarm,
      },
      AuthOptions: {
        CertDir: certDir,
        CaCertPath: o.tlsPaths?.CaCertPath || `${certDir}/ca.pem`,
        CaPrivateKeyPath: o.tlsPaths?.CaPrivateKeyPath || `${certDir}/ca-key.pem`,
        CaCertRemotePath: '',
        ServerCertPath: `${machineDir}/server.pem`,
        ServerKeyPath: `${machineDir}/server-key.pem`,
        ClientKeyPath: o.tlsPaths?.ClientKeyPath || `${certDir}/key.pem`,
        ServerCertRemotePath: '',
        ServerKeyRemotePath: '',
        ClientCertPath: o.tlsPaths?.ClientCertPath || `${certDir}/cert.pem`,
        ServerCertSANs: o.tlsSans ?? [],
        StorePath: machineDir,
      },
    },
    Name: o.name,
  };
}
