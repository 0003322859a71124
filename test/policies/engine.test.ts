import type { PolicyPackConfig } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import {
  knownStacks,
  PolicyConfigError,
  readPackConfig,
  resolveSettings,
  stackConfigFile,
} from "../../policies/config";
import { analyze } from "../../policies/engine";
import { packEnforcementLevel, policies } from "../../policies/pack";
import { subscriptionDeadLetter, subscriptionFilter } from "../../policies/pubsub-subscriptions";
import { topicCmek } from "../../policies/pubsub-topics";
import { declared, patched } from "./harness";
import { pushSubscription, SUBSCRIPTION } from "./resources";

const pack = { name: "eventline", version: "0.1.0" };
const noDeadLetter = declared({
  type: SUBSCRIPTION,
  name: "sms-worker",
  inputs: patched(pushSubscription, { deadLetterPolicy: undefined }),
});

describe("the offline engine, as the policy server", () => {
  it("reports the description, a newline and the rule's message, against the resource", async () => {
    const rule = subscriptionDeadLetter("mandatory");
    const settings = resolveSettings([rule], {}, "advisory");
    expect(await analyze(pack, [rule], settings, [noDeadLetter])).toEqual([
      {
        policyName: rule.name,
        enforcementLevel: "mandatory",
        message: `${rule.description}\ndeadLetterPolicy is not set.`,
        detail: "deadLetterPolicy is not set.",
        urn: noDeadLetter.urn,
      },
    ]);
  });

  it("runs a policy at the level the config gives it, skips it when disabled, and counts remediate as mandatory", async () => {
    const rule = subscriptionDeadLetter("mandatory");
    const levels = async (config: PolicyPackConfig): Promise<string[]> =>
      (
        await analyze(pack, [rule], resolveSettings([rule], config, "advisory"), [noDeadLetter])
      ).map((v) => v.enforcementLevel);
    expect(await levels({ [rule.name]: "advisory" })).toEqual(["advisory"]);
    expect(await levels({ all: "advisory" })).toEqual(["advisory"]);
    expect(
      await levels({ all: "advisory", [rule.name]: { enforcementLevel: "mandatory" } }),
    ).toEqual(["mandatory"]);
    expect(await levels({ [rule.name]: "disabled" })).toEqual([]);
    expect(await levels({ [rule.name]: "remediate" })).toEqual(["mandatory"]);
  });

  it("turns a rule that reads an unknown value into one advisory, like a preview", async () => {
    const rule = subscriptionDeadLetter("mandatory");
    const unknownPolicy = declared({
      type: SUBSCRIPTION,
      name: "s",
      inputs: { deadLetterPolicy: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" },
    });
    const [violation, ...rest] = await analyze(
      pack,
      [rule],
      resolveSettings([rule], {}, "advisory"),
      [unknownPolicy],
    );
    expect(rest).toEqual([]);
    expect(violation?.enforcementLevel).toBe("advisory");
    expect(violation?.message).toBe(
      "can't run policy 'pubsub-subscription-dead-letter' from policy pack 'eventline@v0.1.0' during preview: string value at .deadLetterPolicy can't be known during preview",
    );
  });

  it("leaves a filter that is unknown during a preview for later", async () => {
    const rule = subscriptionFilter("mandatory");
    const unknownFilter = declared({
      type: SUBSCRIPTION,
      inputs: patched(pushSubscription, { filter: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }),
    });
    expect(
      await analyze(pack, [rule], resolveSettings([rule], {}, "advisory"), [unknownFilter]),
    ).toEqual([]);
  });
});

describe("pack config", () => {
  it("fills settings from the schema's defaults and lets the config override them", () => {
    const rule = topicCmek("mandatory");
    expect(resolveSettings([rule], {}, "advisory").get(rule.name)).toEqual({
      enforcementLevel: "mandatory",
      properties: { required: false },
    });
    expect(
      resolveSettings([rule], { [rule.name]: { required: true } }, "advisory").get(rule.name)
        ?.properties,
    ).toEqual({ required: true });
  });

  it.each([
    [{ "no-such-policy": "advisory" }, '"no-such-policy" is not a policy of this pack'],
    [
      { "pubsub-topic-cmek": "strict" },
      'pubsub-topic-cmek: "strict" is not one of advisory, mandatory, remediate, disabled',
    ],
    [
      { "pubsub-topic-cmek": { requird: true } },
      "pubsub-topic-cmek.requird: no such setting (settings: required)",
    ],
    [
      { "pubsub-topic-cmek": { required: "yes" } },
      'pubsub-topic-cmek.required: "yes" must be boolean',
    ],
    [
      { "cloudrun-max-instances": { maxInstances: 0 } },
      "cloudrun-max-instances.maxInstances: 0 must be >= 1",
    ],
  ] as [PolicyPackConfig, string][])("rejects %j", (config, message) => {
    expect(() => resolveSettings(policies, config, packEnforcementLevel)).toThrow(
      new PolicyConfigError(message),
    );
  });

  it("has a config file per stack that fits the pack: schemas advisory in dev, mandatory in prod", () => {
    expect(knownStacks()).toEqual(["dev", "prod"]);
    const level = (stack: string, policy: string): string | undefined =>
      resolveSettings(policies, readPackConfig(stackConfigFile(stack)), packEnforcementLevel).get(
        policy,
      )?.enforcementLevel;
    expect([level("dev", "pubsub-topic-schema"), level("prod", "pubsub-topic-schema")]).toEqual([
      "advisory",
      "mandatory",
    ]);
    expect([
      level("dev", "firestore-delete-protection"),
      level("prod", "firestore-delete-protection"),
    ]).toEqual(["disabled", "mandatory"]);
  });
});

describe("the pack", () => {
  it("names each rule once, says why and how to fix, and makes every rule mandatory but the label rule", () => {
    const names = policies.map((policy) => policy.name);
    expect(new Set(names).size).toBe(names.length);
    for (const policy of policies) expect(policy.description, policy.name).toMatch(/Fix: /);
    expect(
      policies
        .filter((policy) => policy.enforcementLevel !== "mandatory")
        .map((policy) => policy.name),
    ).toEqual(["labels-required"]);
  });

  it("finds nothing in a stack of resources no rule is about", async () => {
    const settings = resolveSettings(policies, {}, packEnforcementLevel);
    const account = declared({
      type: "gcp:serviceaccount/account:Account",
      inputs: { accountId: "run-sms-worker" },
    });
    expect(await analyze(pack, policies, settings, [account])).toEqual([]);
  });
});
