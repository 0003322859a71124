/**
 * pubsub-subscription-replace: a subscription's replace-only fields against the stack's deployed
 * declaration, given as the rule's `deployed` setting. The deployed declaration and the
 * subscription's inputs are derived from the declaration here, not written out.
 */
import { describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { resolveSystem, subscriptionName } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { subscriptionReplace } from "../../policies/pubsub-replace";
import { resourceViolations } from "./harness";
import { SUBSCRIPTION } from "./resources";

/** How the engine marks a string Pulumi cannot know during a preview. */
const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const deployed = declarationOf(resolveSystem(system, "dev"));
const rule = subscriptionReplace("mandatory");
const filtered = deployed.subscriptions.find((s) => s.filter !== undefined && !s.ordering)!;

/** The inputs infra/gcp/consumer-subscription.ts gives the subscription of `consumer`, as deployed. */
function inputsOf(consumer: string): Record<string, unknown> {
  const s = deployed.subscriptions.find((sub) => sub.consumer === consumer)!;
  return {
    name: s.name,
    topic: `projects/eventline-dev/topics/${s.topic}`,
    labels: { consumer: s.consumer, role: "consumer" },
    ...(s.filter !== undefined && { filter: s.filter }),
    enableMessageOrdering: s.ordering,
    expirationPolicy: { ttl: "" },
  };
}

const check = (inputs: Record<string, unknown>, settings: Record<string, unknown> = { deployed }) =>
  resourceViolations(rule, { type: SUBSCRIPTION, name: String(inputs["name"]), inputs }, settings);

describe("pubsub-subscription-replace", () => {
  it("passes every subscription the declaration deploys, unchanged", () => {
    for (const subscription of deployed.subscriptions)
      expect(check(inputsOf(subscription.consumer)), subscription.consumer).toEqual([]);
  });

  it("passes a filter change the program migrates: the new name is the one it derives, on the same topic", () => {
    const filter = 'attributes.ce-type = "com.example.changed"';
    const name = subscriptionName(filtered.consumer, {
      topic: filtered.topic,
      filter,
      ordering: false,
    });
    expect(check({ ...inputsOf(filtered.consumer), name, filter })).toEqual([]);
  });

  it("refuses a filter change under the deployed name, naming both guards and the fix", () => {
    const [violation, ...rest] = check({
      ...inputsOf(filtered.consumer),
      filter: 'attributes.ce-type = "com.example.changed"',
    });
    expect(rest).toEqual([]);
    expect(violation).toContain(
      `filter ${JSON.stringify(filtered.filter)} → "attributes.ce-type = \\"com.example.changed\\""`,
    );
    expect(violation).toContain("Guards: replace-without-migration, backlog-without-migration");
    expect(violation).toContain("409 ALREADY_EXISTS");
    expect(violation).toContain("Fix: let the program name the subscription");
  });

  it("refuses a filter removed in place, ordering turned on, and a move to another topic, even under derived names", () => {
    const { filter: _dropped, ...withoutFilter } = inputsOf(filtered.consumer);
    expect(check(withoutFilter)[0]).toContain(`filter ${JSON.stringify(filtered.filter)} → none`);
    const ordered = subscriptionName(filtered.consumer, {
      topic: filtered.topic,
      filter: filtered.filter,
      ordering: true,
    });
    const on = check({
      ...inputsOf(filtered.consumer),
      name: ordered,
      enableMessageOrdering: true,
    });
    expect(on[0]).toContain("ordering false → true");
    expect(on[0]).toContain("FAILED_PRECONDITION");
    const other = deployed.topics.find((t) => t.name !== filtered.topic)!.name;
    const moved = check({
      ...inputsOf(filtered.consumer),
      name: subscriptionName(filtered.consumer, {
        topic: other,
        filter: filtered.filter,
        ordering: false,
      }),
      topic: `projects/eventline-dev/topics/${other}`,
    });
    expect(moved[0]).toContain(`topic "${filtered.topic}" → "${other}"`);
    expect(moved[0]).toContain("Guards: replace-without-migration.");
  });

  it("finds the deployed subscription by its consumer, so a renamed subscription is a replace", () => {
    const renamed = check({ ...inputsOf(filtered.consumer), name: `${filtered.name}-v2` });
    expect(renamed[0]).toContain(`name "${filtered.name}" → "${filtered.name}-v2"`);
  });

  it("compares a value unknown during the preview once it is known", () => {
    expect(check({ ...inputsOf(filtered.consumer), filter: unknownString })).toEqual([]);
  });

  it("passes a new consumer, parking subscriptions, and any stack without a deployed declaration", () => {
    expect(
      check({
        ...inputsOf(filtered.consumer),
        name: "brand-new",
        labels: { consumer: "brand-new" },
      }),
    ).toEqual([]);
    expect(
      check({
        name: filtered.parkingSubscription,
        topic: filtered.deadLetterTopic,
        labels: { consumer: filtered.consumer, role: "dead-letter-parking" },
        filter: 'attributes.x = "y"',
      }),
    ).toEqual([]);
    expect(check({ ...inputsOf(filtered.consumer), filter: "x" }, {})).toEqual([]);
    expect(check({ ...inputsOf(filtered.consumer), filter: "x" }, { deployed: null })).toEqual([]);
  });

  it("says so when the deployed declaration it is given is not one", () => {
    const broken = { ...deployed, subscriptions: [{ consumer: filtered.consumer }] };
    expect(check(inputsOf(filtered.consumer), { deployed: broken })).toEqual([
      "cannot compare with the deployed declaration: pubsub-subscription-replace.deployed: subscriptions[0].name is missing.",
    ]);
  });
});
