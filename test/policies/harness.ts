/**
 * Runs one policy without the policy server, which a PolicyPack starts when constructed: its validateResource
 * (or validateStack) is called with the argument bag the engine builds and a reportViolation that collects what
 * the rule reports. Settings come from the policy's configSchema defaults, overridden like a stack's config file
 * would.
 */
import type {
  Policies,
  ReportViolation,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { resolveSettings } from "../../policies/config";
import { resourceArgs, stackArgs, type DeclaredResource } from "../../policies/engine";

/** A resource for a test: its type and inputs; name and URN are derived when left out. */
export interface TestResource {
  type: string;
  inputs: Record<string, unknown>;
  name?: string;
}

export function declared(resource: TestResource, i = 0): DeclaredResource {
  const name = resource.name ?? `r${i}`;
  return {
    type: resource.type,
    name,
    inputs: resource.inputs,
    urn: `urn:pulumi:test::eventline::${resource.type}::${name}`,
  };
}

function getConfigFor(
  policy: Policies[number],
  settings: Record<string, unknown> | undefined,
): <T extends object>() => T {
  const resolved = resolveSettings(
    [policy],
    settings === undefined ? {} : { [policy.name]: settings },
    "advisory",
  );
  return <T extends object>() => ({ ...resolved.get(policy.name)?.properties }) as T;
}

/** What `policy` reports for one resource. */
export function resourceViolations(
  policy: ResourceValidationPolicy,
  resource: TestResource,
  settings?: Record<string, unknown>,
): string[] {
  const found: string[] = [];
  const report: ReportViolation = (message) => found.push(message);
  const args = resourceArgs(declared(resource), getConfigFor(policy, settings));
  const validations = Array.isArray(policy.validateResource)
    ? policy.validateResource
    : [policy.validateResource];
  for (const validate of validations) void validate?.(args, report);
  return found;
}

/**
 * Which resources a resource's input was computed from, as the engine records it during a preview:
 * resource name → input property → names of the resources it depends on.
 */
export type PropertyDependencies = Record<string, Record<string, string[]>>;

/** What `policy` reports for a stack of resources: each message with the name of the resource it is about. */
export function stackViolations(
  policy: StackValidationPolicy,
  resources: TestResource[],
  options: { settings?: Record<string, unknown>; dependencies?: PropertyDependencies } = {},
): string[] {
  const all = resources.map(declared);
  const names = new Map(all.map((resource) => [resource.urn, resource.name]));
  const found: string[] = [];
  const report: ReportViolation = (message, urn) =>
    found.push(`${urn === undefined ? "(stack)" : names.get(urn)}: ${message}`);
  const args = stackArgs(all, getConfigFor(policy, options.settings));
  const byName = new Map(args.resources.map((resource) => [resource.name, resource]));
  for (const [name, properties] of Object.entries(options.dependencies ?? {})) {
    const resource = byName.get(name);
    if (resource === undefined) throw new Error(`no resource named ${name}`);
    for (const [property, on] of Object.entries(properties)) {
      resource.propertyDependencies[property] = on
        .map((dependency) => byName.get(dependency))
        .filter((r) => r !== undefined);
    }
  }
  void policy.validateStack(args, report);
  return found;
}

/** A deep copy of `base` with `patch` merged in; `undefined` in the patch deletes a key. */
export function patched<T extends Record<string, unknown>>(
  base: T,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete out[key];
    else if (
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value) &&
      typeof out[key] === "object" &&
      out[key] !== null
    ) {
      out[key] = patched(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}
