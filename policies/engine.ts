/**
 * Runs the pack's policies over a stack's resources the way the policy server in @pulumi/policy does for the
 * Pulumi CLI (server.js: analyze, analyzeStack), without starting it: the configured level decides whether a
 * policy runs ("disabled": no) and how its violations count ("remediate" counts as mandatory); inputs go through
 * the same unknown-value proxy, and a policy that touches an unknown value yields one advisory "can't run during
 * preview" instead of a violation; a violation's message is the policy's description, a newline, and what the
 * rule reported.
 */
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PolicySettings } from "./config";
import { policyProxy } from "./rule";

/** A resource as the program declared it: type token, Pulumi name, URN and inputs. */
export interface DeclaredResource {
  type: string;
  name: string;
  urn: string;
  inputs: Record<string, unknown>;
  parent?: string;
}

/** One diagnostic, shaped like the ones the policy server returns to the CLI. */
export interface Violation {
  policyName: string;
  enforcementLevel: "advisory" | "mandatory";
  /** The policy's description, a newline, then what the rule reported. */
  message: string;
  /** What the rule reported on its own. */
  detail: string;
  /** The resource it is about; undefined for the stack as a whole. */
  urn?: string;
}

/** The pack's identity in "can't run during preview" messages, e.g. `eventline@v0.1.0`. */
export interface PackIdentity {
  name: string;
  version: string;
}

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

/** Config lookup for one policy, as `args.getConfig()` returns it: settings without the level. */
function configOf(settings: Map<string, PolicySettings>, name: string): <T extends object>() => T {
  return <T extends object>() => ({ ...settings.get(name)?.properties }) as T;
}

const isTypeOf = (type: string) => (resourceClass: unknown) =>
  (resourceClass as { __pulumiType?: string }).__pulumiType === type;

/** The argument bag a resource policy receives for `resource`. */
export function resourceArgs(
  resource: DeclaredResource,
  getConfig: <T extends object>() => T,
): ResourceValidationArgs {
  const props = policyProxy.unknownCheckingProxy({ ...resource.inputs });
  return {
    type: resource.type,
    props,
    urn: resource.urn,
    name: resource.name,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      ...(resource.parent !== undefined && { parent: resource.parent }),
    },
    stackTags: new Map(),
    isType: isTypeOf(resource.type),
    asType: ((resourceClass: unknown) =>
      isTypeOf(resource.type)(resourceClass)
        ? props
        : undefined) as ResourceValidationArgs["asType"],
    getConfig,
    notApplicable,
  };
}

/**
 * The argument bag a stack policy receives. Under the CLI `props` are the resources' outputs during a preview;
 * offline they are the inputs, which is what a preview shows for resources not yet created. Dependencies are
 * not recorded offline, so they are empty.
 */
export function stackArgs(
  resources: DeclaredResource[],
  getConfig: <T extends object>() => T,
): StackValidationArgs {
  const policyResources: PolicyResource[] = resources.map((resource) => {
    const { props, urn, name, type, opts, isType } = resourceArgs(resource, getConfig);
    return {
      props,
      urn,
      name,
      type,
      opts,
      isType,
      asType: (() => undefined) as PolicyResource["asType"],
      dependencies: [],
      propertyDependencies: {},
    };
  });
  const byUrn = new Map(policyResources.map((resource) => [resource.urn, resource]));
  for (const [i, resource] of resources.entries()) {
    const parent = resource.parent === undefined ? undefined : byUrn.get(resource.parent);
    const policyResource = policyResources[i] as PolicyResource;
    if (parent !== undefined) policyResource.parent = parent;
    policyResource.asType = ((resourceClass: unknown) =>
      policyResource.isType(resourceClass as never)
        ? policyResource.props
        : undefined) as PolicyResource["asType"];
  }
  return { resources: policyResources, stackTags: new Map(), getConfig, notApplicable };
}

type Validate = (report: ReportViolation) => Promise<void> | void;

/** Runs one validation as the server does, collecting its diagnostics into `into`; `subject` is the resource analysed. */
async function run(
  pack: PackIdentity,
  policyName: string,
  description: string,
  level: "advisory" | "mandatory",
  validate: Validate,
  into: Violation[],
  subject?: string,
): Promise<void> {
  const report: ReportViolation = (detail: string, urn?: string) => {
    into.push({
      policyName,
      enforcementLevel: level,
      message: detail ? `${description}\n${detail}` : description,
      detail,
      ...(urn !== undefined && { urn }),
    });
  };
  try {
    await validate(report);
  } catch (err) {
    if (err instanceof NotApplicable) return;
    const from = `policy '${policyName}' from policy pack '${pack.name}@v${pack.version}'`;
    if (err instanceof policyProxy.UnknownValueError) {
      const message = `can't run ${from} during preview: ${err.message}`;
      into.push({
        policyName,
        enforcementLevel: "advisory",
        message,
        detail: message,
        ...(subject !== undefined && { urn: subject }),
      });
      return;
    }
    throw new Error(
      `Error validating resource with ${from}: ${(err as Error).stack ?? String(err)}`,
    );
  }
}

/** The level a policy runs at, or undefined when it does not run. */
function levelOf(
  settings: Map<string, PolicySettings>,
  name: string,
): "advisory" | "mandatory" | undefined {
  const level: EnforcementLevel | undefined = settings.get(name)?.enforcementLevel;
  if (level === undefined || level === "disabled") return undefined;
  return level === "advisory" ? "advisory" : "mandatory";
}

const isStackPolicy = (policy: Policies[number]): policy is StackValidationPolicy =>
  "validateStack" in policy;

/** Every resource policy's violations for one resource. */
export async function analyzeResource(
  pack: PackIdentity,
  policies: Policies,
  settings: Map<string, PolicySettings>,
  resource: DeclaredResource,
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const policy of policies.filter((p): p is ResourceValidationPolicy => !isStackPolicy(p))) {
    const level = levelOf(settings, policy.name);
    if (level === undefined || policy.validateResource === undefined) continue;
    const validations = Array.isArray(policy.validateResource)
      ? policy.validateResource
      : [policy.validateResource];
    for (const validation of validations) {
      const args = resourceArgs(resource, configOf(settings, policy.name));
      // A resource policy reports against the resource it validates, whatever urn the rule passes.
      await run(
        pack,
        policy.name,
        policy.description,
        level,
        (report) => validation(args, (detail) => report(detail, resource.urn)),
        found,
        resource.urn,
      );
    }
  }
  return found;
}

/** Every stack policy's violations for the whole stack. */
export async function analyzeStack(
  pack: PackIdentity,
  policies: Policies,
  settings: Map<string, PolicySettings>,
  resources: DeclaredResource[],
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const policy of policies.filter(isStackPolicy)) {
    const level = levelOf(settings, policy.name);
    if (level === undefined) continue;
    const args = stackArgs(resources, configOf(settings, policy.name));
    await run(
      pack,
      policy.name,
      policy.description,
      level,
      (report) => policy.validateStack(args, report),
      found,
    );
  }
  return found;
}

/** Resource policies over every resource, then stack policies over the stack: a preview's order. */
export async function analyze(
  pack: PackIdentity,
  policies: Policies,
  settings: Map<string, PolicySettings>,
  resources: DeclaredResource[],
): Promise<Violation[]> {
  const found: Violation[] = [];
  for (const resource of resources)
    found.push(...(await analyzeResource(pack, policies, settings, resource)));
  found.push(...(await analyzeStack(pack, policies, settings, resources)));
  return found;
}
