import { PubSub } from "@google-cloud/pubsub";
import { afterAll, describe, expect, it } from "vitest";
import { catalogFor } from "../../handlers/runtime/catalog";
import { RuntimeMetrics } from "../../handlers/runtime/metrics";
import { PubSubPublisher } from "../../handlers/runtime/publisher";
import { useEmulators } from "../support/emulators";
import { codec } from "../support/pubsub";

const emulators = useEmulators();
let client: PubSub | undefined;

afterAll(async () => {
  await client?.close();
});

describe("the publisher", { timeout: 30_000 }, () => {
  it("does not leave an ordering key blocked after a failed ordered publish: the retry publishes, and events_published counts it once", async () => {
    // A project of its own, where the funnel topic does not exist yet.
    client = new PubSub({ projectId: `${emulators.projectId}-publisher`, apiEndpoint: emulators.pubsubHost, emulatorMode: true });
    const metrics = new RuntimeMetrics();
    const publisher = new PubSubPublisher(client, catalogFor("local"), metrics);
    const event = () => codec.encode("com.eventline.share.completed", { invitationId: "inv-ordered", cardId: "c", senderUserId: "s" }, { source: "//eventline/test" });
    const first = event();
    expect(first.orderingKey).toBe("inv-ordered");

    await expect(publisher.publish([first])).rejects.toThrow();
    await client.createTopic("viral-funnel");
    const [id] = await publisher.publish([event()]);
    expect(id).toBeTypeOf("string");
    await publisher.flush();

    const { values } = await metrics.published.get();
    expect(values).toEqual([expect.objectContaining({ value: 1, labels: { type: "com.eventline.share.completed", topic: "viral-funnel" } })]);
  });
});
