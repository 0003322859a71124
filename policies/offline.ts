/**
 * The pack without the Pulumi CLI: evaluate the program for one stack under mocks (infra/evaluate.ts), then run
 * every policy of pack.ts over what it declares, with the levels and settings of the stack's config file, through
 * the engine that mirrors the policy server.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PolicyPackConfig } from "@pulumi/policy";
import { type Evaluation, evaluateProgram } from "../infra/evaluate";
import type { DeclarationRecord } from "../infra/model/declaration-record";
import { readPackConfig, resolveSettings, stackConfigFile } from "./config";
import { analyze, type DeclaredResource, type PackIdentity, type Violation } from "./engine";
import { packEnforcementLevel, packName, policies } from "./pack";
import { SUBSCRIPTION_REPLACE } from "./pubsub-replace";

/** The pack's name and the version the CLI would report (policies/package.json). */
export function packIdentity(): PackIdentity {
  const { version } = JSON.parse(readFileSync(join(__dirname, "package.json"), "utf8")) as {
    version: string;
  };
  return { name: packName, version };
}

/** What the program registered, as the engine takes it: type, name, URN, inputs and parent. */
export function declaredResources(evaluation: Evaluation): DeclaredResource[] {
  return evaluation.resources.map(({ type, name, urn, inputs, parent }) => ({
    type,
    name,
    urn,
    inputs,
    ...(parent !== undefined && { parent }),
  }));
}

export interface CheckOptions {
  stack: string;
  /** A program to evaluate instead of infra/index.ts (a module path, as evaluateProgram takes it). */
  program?: string;
  /** A pack config file instead of policies/config/<stack>.json. */
  configFile?: string;
  /**
   * The stack's deployed declaration (its `declaration` output), given to pubsub-subscription-replace as its
   * `deployed` setting, as the preview workflow does; default: none, nothing to compare with.
   */
  deployed?: DeclarationRecord;
}

/** `config` with the deployed declaration set on the replace guard, keeping the level the config gives it. */
export function withDeployed(
  config: PolicyPackConfig,
  deployed: DeclarationRecord,
): PolicyPackConfig {
  const entry = config[SUBSCRIPTION_REPLACE];
  const base = typeof entry === "string" ? { enforcementLevel: entry } : (entry ?? {});
  return { ...config, [SUBSCRIPTION_REPLACE]: { ...base, deployed } } as PolicyPackConfig;
}

export interface CheckOutcome {
  pack: PackIdentity;
  resources: DeclaredResource[];
  violations: Violation[];
  /** Secret keys the stack does not set, evaluated with example values (infra/evaluate.ts). */
  placeholderSecrets: string[];
}

/**
 * Every violation of the pack in what the program declares for `stack`. Throws PolicyConfigError for a config
 * file that does not fit the pack, and whatever evaluating the program throws.
 */
export async function checkStack(options: CheckOptions): Promise<CheckOutcome> {
  const config = readPackConfig(options.configFile ?? stackConfigFile(options.stack));
  const settings = resolveSettings(
    policies,
    options.deployed === undefined ? config : withDeployed(config, options.deployed),
    packEnforcementLevel,
  );
  const evaluation = await evaluateProgram({
    stack: options.stack,
    ...(options.program !== undefined && { program: options.program }),
  });
  const resources = declaredResources(evaluation);
  const pack = packIdentity();
  return {
    pack,
    resources,
    violations: await analyze(pack, policies, settings, resources),
    placeholderSecrets: evaluation.placeholderSecrets,
  };
}
