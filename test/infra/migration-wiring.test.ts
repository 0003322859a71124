/**
 * The migration the program declares for a filter change, under mocks: the program evaluated
 * with the declaration as deployed, then with one consumer's filter changed. The subscription
 * gets a new name under the same URN (a replace, created first, the old one retained), and the
 * take-over and the retirement are wired so that Pulumi runs them in the migration's order:
 * new subscription → take-over → workers (which pull the take-over's output) → retirement.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateProgram, type Evaluation, type RecordedResource } from "../../infra/evaluate";
import { resolveSystem } from "../../infra/model/resolve";
import type { ConsumerSpec, SystemSpec } from "../../infra/model/types";
import { system } from "../../infra/system";
import { envOf, k8sObject, types, type Inputs } from "./resources";

const STACK = "dev";
const declared: SystemSpec = system;
const resolved = resolveSystem(system, STACK);
const pull = resolved.consumers.find((c) => !c.builtIn && c.delivery === "pull" && c.filter)!;
const push = resolved.consumers.find((c) => !c.builtIn && c.delivery === "push" && c.filter)!;
const FILTER = 'attributes.ce-type = "com.example.changed"';

/** The declaration with both consumers' filters changed, as an edit of infra/system.ts would. */
const changed: SystemSpec = {
  ...declared,
  consumers: Object.fromEntries(
    Object.entries(declared.consumers).map(([name, spec]): [string, ConsumerSpec] => [
      name,
      name === pull.name || name === push.name ? { ...spec, filter: FILTER } : spec,
    ]),
  ),
};
const after = resolveSystem(changed, STACK);

let before: Evaluation;
let now: Evaluation;

beforeAll(async () => {
  before = await evaluateProgram({ stack: STACK });
  now = await evaluateProgram({ stack: STACK, system: changed });
}, 180_000);

const byName = (evaluation: Evaluation, type: string, name: string): RecordedResource => {
  const found = evaluation.resources.filter((r) => r.type === type && r.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0]!;
};
const TAKE_OVER = "pulumi-nodejs:dynamic/eventline:SubscriptionTakeOver";
const RETIREMENT = "pulumi-nodejs:dynamic/eventline:SubscriptionRetirement";

describe.each([
  { consumer: pull, workload: "Deployment" },
  { consumer: push, workload: "Cloud Run service" },
])("a filter change of $consumer.name ($workload)", ({ consumer }) => {
  const renamed = after.consumers.find((c) => c.name === consumer.name)!;

  it("names a new subscription under the same URN: a replace, created beside the old one, which is retained", () => {
    expect(renamed.subscription).not.toBe(consumer.subscription);
    const old = byName(before, types.subscription, consumer.name);
    const next = byName(now, types.subscription, consumer.name);
    expect(next.urn).toBe(old.urn);
    expect([old.inputs["name"], next.inputs["name"]]).toEqual([
      consumer.subscription,
      renamed.subscription,
    ]);
    expect(next.inputs["filter"]).toBe(FILTER);
    expect(next.retainOnDelete).toBe(true);
    // So are the grants on it, which go with it when the retirement deletes it.
    const grantsOnIt = now.resources.filter(
      (r) => r.type === types.subscriptionIam && r.inputs["subscription"] === renamed.subscription,
    );
    expect(grantsOnIt.length).toBeGreaterThanOrEqual(consumer.delivery === "pull" ? 2 : 1);
    expect(grantsOnIt.every((r) => r.retainOnDelete)).toBe(true);
    // The dead-letter topic and its parking subscription belong to the consumer: unchanged.
    expect(byName(now, types.subscription, `${consumer.name}-dlq-parking`).inputs).toStrictEqual(
      byName(before, types.subscription, `${consumer.name}-dlq-parking`).inputs,
    );
    expect(byName(now, types.topic, `${consumer.name}-dlq`).inputs).toStrictEqual(
      byName(before, types.topic, `${consumer.name}-dlq`).inputs,
    );
  });

  it("takes over after the new subscription, under a URN that stays, so Pulumi updates it with the old name in olds", () => {
    const subscription = byName(now, types.subscription, consumer.name);
    const takeOver = byName(now, TAKE_OVER, `${consumer.name}-takeover`);
    expect(takeOver.urn).toBe(byName(before, TAKE_OVER, `${consumer.name}-takeover`).urn);
    expect(takeOver.inputs["subscription"]).toBe(renamed.subscription);
    expect(byName(before, TAKE_OVER, `${consumer.name}-takeover`).inputs["subscription"]).toBe(
      consumer.subscription,
    );
    expect(takeOver.dependencies).toContain(subscription.urn);
  });

  it("retires the old subscription after the workload, which comes after the take-over", () => {
    const takeOver = byName(now, TAKE_OVER, `${consumer.name}-takeover`);
    const retirement = byName(now, RETIREMENT, `${consumer.name}-retirement`);
    expect(retirement.urn).toBe(byName(before, RETIREMENT, `${consumer.name}-retirement`).urn);
    expect(retirement.inputs["subscription"]).toBe(renamed.subscription);
    expect(retirement.dependencies).toContain(takeOver.urn);
    const workload =
      consumer.delivery === "pull"
        ? now.resources.find(
            (r) =>
              r.type === types.deployment &&
              (r.inputs["metadata"] as Inputs)["name"] === consumer.name,
          )!
        : byName(now, types.service, consumer.name);
    expect(retirement.dependencies).toContain(workload.urn);
    if (consumer.delivery === "pull") {
      // The workers pull what the take-over outputs, so they wait for it.
      expect(workload.dependencies).toContain(takeOver.urn);
      const container = k8sObject(now, types.deployment, consumer.name)["spec"]["template"]["spec"][
        "containers"
      ][0] as Inputs;
      expect(envOf(container)).toMatchObject({ SUBSCRIPTION: renamed.subscription });
    }
  });
});

it("leaves every other consumer's subscription, take-over and retirement as they were", () => {
  const untouched = resolved.consumers.filter((c) => c.name !== pull.name && c.name !== push.name);
  for (const consumer of untouched) {
    for (const [type, name] of [
      [types.subscription, consumer.name],
      [TAKE_OVER, `${consumer.name}-takeover`],
    ] as const)
      expect(byName(now, type, name).inputs, name).toStrictEqual(byName(before, type, name).inputs);
  }
});
