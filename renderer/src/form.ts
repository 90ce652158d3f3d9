/**
 * The create form, generated from a driver's flag metadata: field models, initial values,
 * validation before submit, and the flags sent to main. Pure functions (unit-tested).
 */
import type {
  ChoiceSource,
  CreateRequest,
  DriverCatalog,
  FlagChoice,
  FlagGroup,
  FlagSpec,
  FlagValue,
} from '../../main/api/contract.js';
import { flagValueProblem, machineNameProblem } from '../../main/base/validate-input.js';

/** What the inputs hold: text for string/int/string[] (one item per line), booleans for bool. */
export type FormValues = Record<string, string | boolean>;

export interface FieldModel {
  flag: FlagSpec;
  label: string;
  input: 'text' | 'password' | 'number' | 'checkbox' | 'lines' | 'multiline';
  /** The value given by an environment variable of the app (so the field may stay empty). */
  fromEnv: boolean;
  required: boolean;
  /** Shown ('common') or behind "More options" ('advanced'); a required field is always shown. */
  group: FlagGroup;
  /** A list the driver fetches from the provider: the field is a searchable combobox. */
  choices?: ChoiceSource;
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9\-.]*$/;

/** "generic-ip-address" of driver "generic" → "IP address". */
export function fieldLabel(flag: FlagSpec, driver: string): string {
  if (flag.label) return flag.label;
  let label = flag.name.startsWith(`${driver}-`) ? flag.name.slice(driver.length + 1) : flag.name;
  label = label.replace(/-/g, ' ');
  label = label.replace(/\b(ip|ssh|url|tls|san|api|id|dns|ipv6|vpc)\b/gi, (w) => w.toUpperCase());
  return label.charAt(0).toUpperCase() + label.slice(1);
}

export function fieldModel(flag: FlagSpec, driver: string, envSet: readonly string[]): FieldModel {
  const fromEnv = Boolean(flag.envVar && envSet.includes(flag.envVar));
  const input =
    flag.type === 'bool'
      ? 'checkbox'
      : flag.type === 'int'
        ? 'number'
        : flag.type === 'string[]'
          ? 'lines'
          : flag.secret
            ? 'password'
            : flag.multiline
              ? 'multiline'
              : 'text';
  const required = Boolean(flag.required) && !fromEnv;
  return {
    flag,
    label: flag.label ?? fieldLabel(flag, driver),
    input,
    fromEnv,
    required,
    group: flag.required || flag.group === 'common' ? 'common' : 'advanced',
    ...(flag.choices && flag.type === 'string' ? { choices: flag.choices } : {}),
  };
}

/** A driver's fields as the form lays them out: the common ones shown, the advanced collapsed. */
export function groupFields(fields: readonly FieldModel[]): { common: FieldModel[]; advanced: FieldModel[] } {
  return {
    common: fields.filter((f) => f.group === 'common'),
    advanced: fields.filter((f) => f.group === 'advanced'),
  };
}

/**
 * The choices a combobox lists for what is typed: all of them for no query (the list was just
 * opened on the current value), else those whose value, label or detail contain every typed word.
 */
export function filterChoices(choices: readonly FlagChoice[], query: string): FlagChoice[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...choices];
  const words = q.split(/\s+/);
  return choices.filter((c) => {
    const text = `${c.value} ${c.label} ${c.detail}`.toLowerCase();
    return words.every((w) => text.includes(w));
  });
}

/**
 * Whether a choice can be picked with the form's other values; `why` says what stands in the way
 * ("not offered in fra1"). A choice tied to another flag (a size to regions) is judged by its value.
 */
export function choiceAvailability(
  choice: FlagChoice,
  values: FormValues,
): { available: boolean; why: string } {
  if (!choice.available) return { available: false, why: '' };
  const only = choice.onlyWith;
  const other = only ? values[only.flag] : undefined;
  if (only && typeof other === 'string' && other.trim() && !only.values.includes(other.trim())) {
    return { available: false, why: `not offered in ${other.trim()}` };
  }
  return { available: true, why: '' };
}

/** The secret values the form holds for a driver (its token), sent along to fetch lists. */
export function credentialsOf(fields: readonly FieldModel[], values: FormValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.flag.name];
    if (f.flag.secret && typeof v === 'string' && v.trim()) out[f.flag.name] = v.trim();
  }
  return out;
}

export function initialValue(flag: FlagSpec): string | boolean {
  const d = flag.default;
  if (flag.type === 'bool') return d === true;
  if (Array.isArray(d)) return d.join('\n');
  return d === undefined ? '' : String(d);
}

export function initialValues(flags: readonly FlagSpec[]): FormValues {
  return Object.fromEntries(flags.map((f) => [f.name, initialValue(f)]));
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * Errors by field name ('name' for the machine name); empty when the form can be submitted. The
 * rules are the CLI's: the machine name check and each flag's declared `check`, from the one
 * shared module (main/base/validate-input.ts); `existing` are the names already in the store.
 */
export function validate(
  name: string,
  fields: readonly FieldModel[],
  values: FormValues,
  existing: readonly string[] = [],
): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!name) errors.name = 'A name is required';
  else if (!NAME_PATTERN.test(name))
    errors.name = 'Use letters, digits, "." and "-" (starting with a letter or digit)';
  else if (machineNameProblem(name)) errors.name = machineNameProblem(name)!;
  else if (existing.includes(name)) errors.name = `A host named "${name}" already exists`;
  for (const field of fields) {
    const value = values[field.flag.name];
    if (field.input === 'checkbox') continue;
    const text = typeof value === 'string' ? value.trim() : '';
    if (!text) {
      if (field.required) errors[field.flag.name] = `${field.label} is required`;
      continue;
    }
    if (field.input === 'number' && !/^-?\d+$/.test(text))
      errors[field.flag.name] = `${field.label} must be a whole number`;
    else if (field.flag.check) {
      const problem = flagValueProblem(field.flag.check, text);
      if (problem) errors[field.flag.name] = problem;
    }
  }
  return errors;
}

/**
 * The flags for createMachine: only what the user set or changed from the default, so that
 * main applies env vars and defaults itself (the same rules as the CLI).
 */
export function toRequest(
  name: string,
  driver: string,
  fields: readonly FieldModel[],
  values: FormValues,
): CreateRequest {
  const flags: Record<string, FlagValue> = {};
  for (const { flag } of fields) {
    const value = values[flag.name];
    const initial = initialValue(flag);
    if (value === undefined || value === initial) continue;
    if (flag.type === 'bool') flags[flag.name] = value === true;
    else if (typeof value === 'string') {
      const text = value.trim();
      if (flag.type === 'string[]') flags[flag.name] = lines(text);
      else if (flag.type === 'int') {
        if (text) flags[flag.name] = Number.parseInt(text, 10);
      } else if (flag.multiline && text) {
        // Several lines are the text itself, as written; one line (a path) is trimmed.
        flags[flag.name] = /[\r\n]/.test(text) ? value : text;
      } else if (text || initial !== '') flags[flag.name] = text;
    }
  }
  return { name, driver, flags };
}

/** Back from a request (retry): the form values it was made from. */
export function valuesFromRequest(flags: readonly FlagSpec[], request: CreateRequest): FormValues {
  const values = initialValues(flags);
  for (const flag of flags) {
    const v = request.flags[flag.name];
    if (v === undefined) continue;
    values[flag.name] = Array.isArray(v) ? v.join('\n') : typeof v === 'boolean' ? v : String(v);
  }
  return values;
}

/** Fields of the chosen driver, then the common create flags most users touch. */
export function formFields(
  catalog: DriverCatalog,
  driver: string,
): { driverFields: FieldModel[]; commonFields: FieldModel[] } {
  const d = catalog.drivers.find((x) => x.name === driver);
  return {
    // Required fields first (stable otherwise): what the user must fill is at the top.
    driverFields: (d?.flags ?? [])
      .map((f) => fieldModel(f, driver, catalog.envSet))
      .sort((a, b) => Number(b.required) - Number(a.required)),
    commonFields: catalog.commonFlags.map((f) => fieldModel(f, driver, catalog.envSet)),
  };
}
