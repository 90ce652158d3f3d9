import { parseEc2Tags } from '../../base/cloud-values.js';
import type { BaseDriverConfig } from '../../store/config.js';

/**
 * The `Driver` object of an amazonec2 machine's config.json, with docker-machine's field names
 * (drivers/amazonec2/amazonec2.go). `SecretKeyRef` is Moor's: present only when the secret key
 * (and session token) are in a keychain, and then `SecretKey`/`SessionToken` are "".
 */
export interface AmazonEc2Config extends BaseDriverConfig {
  Id: string;
  AccessKey: string;
  SecretKey: string;
  SecretKeyRef?: string;
  SessionToken: string;
  Region: string;
  AMI: string;
  SSHKeyID: number;
  /** The key pair was the user's (--amazonec2-keypair-name): never deleted. */
  ExistingKey: boolean;
  KeyName: string;
  InstanceId: string;
  InstanceType: string;
  PrivateIPAddress: string;
  SecurityGroupId: string;
  SecurityGroupIds: string[];
  SecurityGroupName: string;
  SecurityGroupNames: string[];
  SecurityGroupReadOnly: boolean;
  OpenPorts: string[];
  Tags: string;
  ReservationId: string;
  DeviceName: string;
  RootSize: number;
  VolumeType: string;
  IamInstanceProfile: string;
  VpcId: string;
  SubnetId: string;
  Zone: string;
  RequestSpotInstance: boolean;
  SpotPrice: string;
  BlockDurationMinutes: number;
  PrivateIPOnly: boolean;
  UsePrivateIP: boolean;
  UseEbsOptimizedInstance: boolean;
  Monitoring: boolean;
  SSHPrivateKeyPath: string;
  RetryCount: number;
  Endpoint: string;
  DisableSSL: boolean;
  UserDataFile: string;
  /** Moor's: inline user-data (the flag's value was the text itself, not a path). */
  UserData?: string;
}

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_INSTANCE_TYPE = 't3.micro';
export const DEFAULT_ZONE = 'a';
export const DEFAULT_SECURITY_GROUP = 'docker-machine';
export const DEFAULT_SSH_USER = 'ubuntu';
export const DEFAULT_DEVICE_NAME = '/dev/sda1';
export const DEFAULT_ROOT_SIZE = 16;
export const DEFAULT_VOLUME_TYPE = 'gp3';
export const DEFAULT_SPOT_PRICE = '0.50';
export const ENGINE_PORT = 2376;

/**
 * The default AMI: docker-machine kept a per-region table of Ubuntu 16.04 AMIs that went stale.
 * Moor asks the region for Canonical's newest Ubuntu 24.04 LTS image instead (owner and name
 * pattern as Canonical publishes them), so every region gets a current one.
 */
export const CANONICAL_OWNER = '099720109477';
export const DEFAULT_AMI_NAME = 'ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*';

/** `--amazonec2-tags k1,v1,k2,v2` → [{Key,Value}]: docker-machine's format, EC2's tag rules (main/base/cloud-values.ts). */
export const parseTags = parseEc2Tags;

/** `--amazonec2-open-port 8080` or `8080/udp` → protocol and port; anything else is an error. */
export function parseOpenPort(spec: string): { protocol: 'tcp' | 'udp'; port: number } {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/.exec(spec.trim());
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535) {
    throw new Error(`--amazonec2-open-port "${spec}" is not a port (PORT or PORT/tcp or PORT/udp)`);
  }
  return { protocol: (m[2] as 'tcp' | 'udp' | undefined) ?? 'tcp', port };
}

/** docker-machine accepts a hostname-only endpoint; https unless --amazonec2-insecure-transport. */
export function endpointUrl(endpoint: string, disableSsl: boolean): string {
  if (!endpoint) return '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) return endpoint;
  return `${disableSsl ? 'http' : 'https'}://${endpoint}`;
}
