/**
 * Per-stack pack config: policies/config/<stack>.json, in the format of the Pulumi CLI's
 * `--policy-pack-config` file, e.g.
 *
 *   { "pubsub-topic-schema": "advisory", "cloudrun-max-instances": { "maxInstances": 20 } }
 *
 * A key names a policy (or "all"); its value is an enforcement level, or settings with an optional
 * `enforcementLevel`. {@link resolveSettings} turns it into each policy's level and settings the way the CLI does
 * before it configures the policy server: a policy's own entry over "all" over the level the pack gives it, and
 * settings over the defaults in the policy's configSchema.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type {
  EnforcementLevel,
  Policies,
  PolicyConfigSchema,
  PolicyPackConfig,
} from "@pulumi/policy";
import Ajv from "ajv";

/** Where the per-stack config files live. */
export const configDirectory = join(__dirname, "config");

/** A config file that does not load, or does not fit the pack; the message says which entry and why. */
export class PolicyConfigError extends Error {
  override readonly name = "PolicyConfigError";
}

/** What a policy runs with. */
export interface PolicySettings {
  enforcementLevel: EnforcementLevel;
  properties: Record<string, unknown>;
}

/** The stacks that have a config file, i.e. the stacks the check knows. */
export function knownStacks(): string[] {
  return readdirSync(configDirectory)
    .filter((file) => file.endsWith(".json"))
    .map((file) => file.slice(0, -".json".length))
    .sort();
}

export function stackConfigFile(stack: string): string {
  return join(configDirectory, `${stack}.json`);
}

export function readPackConfig(file: string): PolicyPackConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new PolicyConfigError(`${file}: ${(err as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new PolicyConfigError(`${file}: expected an object keyed by policy name`);
  }
  return parsed as PolicyPackConfig;
}

const levels: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

type JsonSchema = PolicyConfigSchema["properties"][string];

const ajv = new Ajv({ allErrors: false, strict: false });

/** Why a setting does not fit its policy's JSON Schema (validated by ajv), or undefined when it fits. */
function schemaProblem(value: unknown, schema: JsonSchema): string | undefined {
  const validate = ajv.compile(schema as object);
  if (validate(value)) return undefined;
  const [error] = validate.errors ?? [];
  const where = error?.instancePath ? ` at ${error.instancePath}` : "";
  return `${JSON.stringify(value)}${where} ${error?.message ?? "does not fit the setting's schema"}`;
}

function levelOf(entry: unknown, where: string): EnforcementLevel | undefined {
  const level =
    typeof entry === "string"
      ? entry
      : (entry as { enforcementLevel?: unknown } | undefined)?.enforcementLevel;
  if (level === undefined) return undefined;
  if (!levels.includes(level as EnforcementLevel))
    throw new PolicyConfigError(`${where}: "${String(level)}" is not one of ${levels.join(", ")}`);
  return level as EnforcementLevel;
}

/**
 * Each policy's level and settings under `config`. Unknown policy names and settings are errors rather than being
 * ignored, so a typo cannot silently leave a rule at its default.
 */
export function resolveSettings(
  policies: Policies,
  config: PolicyPackConfig,
  packLevel: EnforcementLevel,
): Map<string, PolicySettings> {
  const names = new Set(policies.map((policy) => policy.name));
  for (const key of Object.keys(config)) {
    if (key !== "all" && !names.has(key))
      throw new PolicyConfigError(`"${key}" is not a policy of this pack`);
  }
  const all = levelOf(config["all"], "all");
  const settings = new Map<string, PolicySettings>();
  for (const policy of policies) {
    const entry = config[policy.name];
    const schema = policy.configSchema?.properties ?? {};
    const properties: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(schema)) {
      if (typeof property === "object" && property.default !== undefined)
        properties[key] = property.default;
    }
    if (typeof entry === "object" && entry !== null) {
      for (const [key, value] of Object.entries(entry)) {
        if (key === "enforcementLevel") continue;
        const property = schema[key];
        if (property === undefined)
          throw new PolicyConfigError(
            `${policy.name}.${key}: no such setting (settings: ${Object.keys(schema).join(", ") || "none"})`,
          );
        const problem = schemaProblem(value, property);
        if (problem !== undefined) throw new PolicyConfigError(`${policy.name}.${key}: ${problem}`);
        properties[key] = value;
      }
    }
    for (const key of policy.configSchema?.required ?? []) {
      if (!(key in properties)) throw new PolicyConfigError(`${policy.name}.${key}: required`);
    }
    const enforcementLevel =
      levelOf(entry, policy.name) ?? all ?? policy.enforcementLevel ?? packLevel;
    settings.set(policy.name, { enforcementLevel, properties });
  }
  return settings;
}
