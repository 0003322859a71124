import { describe, expect, it } from "vitest";
import type { Violation } from "../../policies/engine";
import { formatReport } from "../../policies/report";
import { declared } from "./harness";

const pack = { name: "eventline", version: "0.1.0" };
const topic = declared({ type: "gcp:pubsub/topic:Topic", name: "orders", inputs: {} });
const subscription = declared({
  type: "gcp:pubsub/subscription:Subscription",
  name: "orders-worker",
  inputs: {},
});

const violation = (
  policyName: string,
  level: "mandatory" | "advisory",
  detail: string,
  urn?: string,
): Violation => ({
  policyName,
  enforcementLevel: level,
  message: `Why and how to fix.\n${detail}`,
  detail,
  ...(urn !== undefined && { urn }),
});

describe("the offline check's report", () => {
  it("groups violations by resource in declaration order, stack-wide ones last, with their level", () => {
    const report = formatReport(
      "dev",
      pack,
      [
        violation("labels-required", "advisory", "missing label owner.", subscription.urn),
        violation(
          "firestore-replay-indexes",
          "mandatory",
          "no composite index on events over (type, time).",
        ),
        violation(
          "pubsub-topic-retention",
          "mandatory",
          "messageRetentionDuration is not set.",
          topic.urn,
        ),
        violation(
          "pubsub-subscription-dead-letter",
          "mandatory",
          "deadLetterPolicy is not set.",
          subscription.urn,
        ),
      ],
      [topic, subscription],
    );
    expect(report).toBe(
      [
        "Policies: eventline@v0.1.0, stack dev, 2 resources",
        "",
        "gcp:pubsub/topic:Topic  orders",
        `    ${topic.urn}`,
        "    - [mandatory]  pubsub-topic-retention",
        "      Why and how to fix.",
        "      messageRetentionDuration is not set.",
        "",
        "gcp:pubsub/subscription:Subscription  orders-worker",
        `    ${subscription.urn}`,
        "    - [advisory]  labels-required",
        "      Why and how to fix.",
        "      missing label owner.",
        "    - [mandatory]  pubsub-subscription-dead-letter",
        "      Why and how to fix.",
        "      deadLetterPolicy is not set.",
        "",
        "Stack",
        "    - [mandatory]  firestore-replay-indexes",
        "      Why and how to fix.",
        "      no composite index on events over (type, time).",
        "",
        "4 violations: 3 mandatory, 1 advisory.",
        "",
      ].join("\n"),
    );
  });

  it("says so when there is nothing to report", () => {
    expect(formatReport("prod", pack, [], [topic])).toBe(
      "Policies: eventline@v0.1.0, stack prod, 1 resource\nNo policy violations.\n",
    );
  });
});
