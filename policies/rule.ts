/**
 * What the pack's rules are made of. A rule is a factory: it takes its enforcement level (and, for a rule with
 * settings, their defaults) and returns a plain @pulumi/policy policy object. The same objects make the CrossGuard
 * pack (index.ts), run in the offline check (check.ts) and in the tests, none of which needs the policy server.
 */
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
} from "@pulumi/policy";
import * as policy from "@pulumi/policy";

/**
 * The policy server's handling of values Pulumi cannot know during a preview (an id the cloud assigns, the email
 * of a service account created in the same update): @pulumi/policy exports both, but its published declarations
 * leave them untyped. The offline check wraps inputs with the same proxy, so unknowns behave as under the CLI.
 */
interface UnknownValueHandling {
  unknownCheckingProxy<T extends object>(props: T): T;
  UnknownValueError: new (...args: never[]) => Error;
}
export const policyProxy: UnknownValueHandling = {
  unknownCheckingProxy: policy.unknownCheckingProxy as UnknownValueHandling["unknownCheckingProxy"],
  UnknownValueError: policy.UnknownValueError as UnknownValueHandling["UnknownValueError"],
};

/**
 * Reads a value that may be unknown during a preview. `undefined` means unknown, so a rule can decide what an
 * unknown value means (usually: it comes from another resource of this stack) instead of the server turning the
 * whole rule into a "can't run during preview" advisory.
 */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof policyProxy.UnknownValueError) return undefined;
    throw err;
  }
}

/** A validation of one resource whose inputs are typed as the Pulumi args of its type. */
export type TypedValidation<P> = (
  props: P,
  args: ResourceValidationArgs,
  report: ReportViolation,
) => void;

/**
 * A `validateResource` that runs for the given type tokens (or the types a predicate accepts) only. Tokens instead
 * of resource classes, so the pack loads without @pulumi/gcp and @pulumi/kubernetes; the inputs are typed with
 * their Args interfaces all the same.
 */
export function forTypes<P>(
  types: readonly string[] | ((type: string) => boolean),
  validate: TypedValidation<P>,
): ResourceValidation {
  const applies = typeof types === "function" ? types : (type: string) => types.includes(type);
  return (args, report) => {
    if (applies(args.type)) validate(args.props as P, args, report);
  };
}

/** The description's suffix naming the Checkov, KICS or Trivy rules a policy mirrors. */
export function mirrors(...ids: string[]): string {
  return ` Mirrors ${ids.join(", ")}.`;
}

/** A config schema whose properties default to `defaults`, overridable per stack by the pack's config file. */
export function settingsSchema<T extends object>(
  defaults: T,
  properties: { [K in keyof T]: PolicyConfigSchema["properties"][string] },
): PolicyConfigSchema {
  const values = defaults as Record<string, unknown>;
  return {
    properties: Object.fromEntries(
      Object.entries(properties as Record<string, object>).map(([key, schema]) => [
        key,
        { ...schema, default: values[key] as never },
      ]),
    ),
  };
}

/** Levels a rule may be built with; "remediate" is not offered because no rule here remediates. */
export type RuleLevel = Exclude<EnforcementLevel, "remediate">;

/**
 * Seconds of a protobuf Duration in its JSON form ("600s", "3.5s"), the form Google APIs and the GCP provider take;
 * undefined when it is not one.
 */
export function protoSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d{1,9})?)s$/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** The last path segment of a resource reference: `projects/p/topics/orders` and `orders` both give `orders`. */
export function shortName(reference: string): string {
  return reference.slice(reference.lastIndexOf("/") + 1);
}
