/**
 * Runtime validation of every invoke argument (zod), checked against the contract's types so the
 * two cannot drift: a schema whose output type differs from `InvokeArgs<M>` in either direction
 * (narrower or wider) fails to compile.
 */
import { z } from 'zod';
import { MoorError } from '../base/errors.js';
import type { InvokeArgs, InvokeMethod, MoorInvoke } from './contract.js';

const name = z.string().min(1).max(200);
const id = z.string().min(1).max(100);
/** Flag names as drivers declare them ("generic-ip-address"), without the leading `--`. */
const flagName = z
  .string()
  .max(200)
  .regex(/^[a-z0-9][a-z0-9-]*$/);
const size = z.number().int().min(1).max(2000);
const flagValue = z.union([
  z.string().max(100_000),
  z.number().finite(),
  z.boolean(),
  z.array(z.string().max(10_000)).max(1000),
]);

/** A local file path as the user typed or picked it ('' allowed: "none given"). */
const localPath = z.string().max(4096);
const none = z.undefined();
const byName = z.strictObject({ name });
const terminalSize = z.strictObject({ id, rows: size, cols: size });

type Schemas = { [M in InvokeMethod]: z.ZodType<InvokeArgs<M>> };

export const invokeSchemas = {
  snapshot: none,
  listMachines: none,
  listDrivers: none,
  driverChoices: z.strictObject({
    driver: z.string().min(1).max(100),
    flag: flagName,
    credentials: z.record(flagName, z.string().max(10_000)).optional(),
    refresh: z.boolean().optional(),
  }),
  createMachine: z.strictObject({
    name,
    driver: z.string().min(1).max(100),
    flags: z.record(flagName, flagValue),
  }),
  cancelCreate: z.strictObject({ operationId: id }),
  start: byName,
  stop: byName,
  restart: byName,
  kill: byName,
  hibernate: byName,
  wake: byName,
  remove: z.strictObject({ name, force: z.boolean().optional() }),
  setActiveHost: z.strictObject({ name: name.nullable() }),
  regenerateCerts: byName,
  provisionMachine: byName,
  inspect: byName,
  terminalOpen: z.strictObject({ machine: name, rows: size, cols: size }),
  terminalAttach: terminalSize,
  terminalDetach: z.strictObject({ id }),
  terminalClose: z.strictObject({ id }),
  terminalResize: terminalSize,
  terminalWrite: z.strictObject({ id, data: z.string().max(1_000_000) }),
  terminalAck: z.strictObject({ id, chars: z.number().int().min(0).max(100_000_000) }),
  listTerminals: none,
  readLogs: z.strictObject({ operationId: id }),
  revealInFolder: byName,
  listSchedules: none,
  getSchedule: byName,
  setSchedule: z.strictObject({
    name,
    start: z.string().max(200).optional(),
    stop: z.string().max(200).optional(),
    zone: z.string().max(100).optional(),
    idleStop: z.string().max(20).optional(),
    hibernate: z.boolean().optional(),
  }),
  clearSchedule: byName,
  postponeStop: z.strictObject({
    name,
    hours: z
      .number()
      .positive()
      .max(24 * 7)
      .optional(),
  }),
  pauseScheduleToday: byName,
  listClusters: none,
  swarmLeave: z.strictObject({ name, force: z.boolean().optional() }),
  settings: none,
  updateSettings: z.strictObject({
    openAtLogin: z.boolean().optional(),
    defaultDriver: z.string().min(1).max(100).optional(),
    notifications: z.enum(['all', 'failures', 'off']).optional(),
  }),
  pickFile: z.strictObject({ title: z.string().max(200), defaultPath: localPath.optional() }),
  checkKeyFile: z.strictObject({ path: localPath }),
  testConnection: z.strictObject({
    ip: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    user: z.string().min(1).max(100),
    keyPath: localPath,
  }),
} satisfies Schemas;

/**
 * Exact type equality. `satisfies Schemas` alone lets a schema narrower than the contract through
 * (a field the contract allows but the schema rejects at run time); this catches both directions.
 */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type SchemaMismatches = {
  [M in InvokeMethod]: Equals<z.output<(typeof invokeSchemas)[M]>, InvokeArgs<M>> extends true ? never : M;
}[InvokeMethod];
/** A mismatch fails here, naming the method: "Property 'remove' is missing in type '{}'". */
const schemasMatchContract: Record<SchemaMismatches, 'schema differs from the contract'> = {};
void schemasMatchContract;

/** Parses one call's argument; a bad one is rejected with a message naming the method and field. */
export function validateArgs<M extends InvokeMethod>(method: M, arg: unknown): InvokeArgs<M> {
  const schema = (invokeSchemas as Schemas)[method] as z.ZodType<InvokeArgs<M>> | undefined;
  if (!schema) throw new MoorError(`Unknown API method "${String(method)}"`);
  const result = schema.safeParse(arg);
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : 'argument'}: ${i.message}`)
      .join('; ');
    throw new MoorError(`Invalid arguments for ${method}: ${issues}`);
  }
  return result.data;
}

export function isInvokeMethod(method: unknown): method is InvokeMethod {
  return typeof method === 'string' && Object.hasOwn(invokeSchemas, method);
}

/**
 * Validates and calls one method on an implementation: the single entry point of both transports
 * (Electron IPC in main/app/ipc.ts, and the test-only WebSocket bridge).
 */
export async function dispatch(impl: MoorInvoke, method: unknown, arg: unknown): Promise<unknown> {
  if (!isInvokeMethod(method)) throw new MoorError(`Unknown API method "${String(method)}"`);
  const valid = validateArgs(method, arg);
  const fn = impl[method] as (a: typeof valid) => Promise<unknown>;
  return fn.call(impl, valid);
}
