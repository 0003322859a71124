import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PermanentError } from "../../handlers/runtime/errors";
import { archiver } from "../../handlers/runtime/event-store";
import { defineHandler, registryOf } from "../../handlers/runtime/handler";
import { firestoreClient, pubsubClient } from "../../tools/local/emulator-clients";
import { DeadLetterBox } from "../../tools/local/dead-letters";
import { startEmulator, type RunningEmulator } from "../../tools/local/emulators";
import { queryEvents } from "../../tools/local/event-feed";
import { localSettings, type LocalSettings } from "../../tools/local/settings";
import { localIssuer } from "../../tools/local/local-issuer";
import { startLocalEnvironment, type LocalEnvironment } from "../../tools/local/start";
import { posterOf } from "../support/producers";
import { subscriptionOf } from "../support/pubsub";
import { eventTypesFor } from "../../handlers/declared";
import { declarationOf } from "../../infra/declaration";
import { parseDeclarationRecord } from "../../infra/model/declaration-record";
import { planChanges } from "../../infra/model/plan";
import { localDeclarationFile } from "../../tools/local/deployed-declaration";

/** What the test handlers saw, by consumer. */
const seen: Record<string, string[]> = { "notify-user-created": [], classifier: [] };

// A push consumer that refuses "poison" addresses for good, and a pull consumer that just records.
const registry = registryOf(
  archiver,
  defineHandler({
    name: "notify-user-created",
    accepts: ["com.skillancer.user.created"],
    handle(event) {
      seen["notify-user-created"]!.push(event.meta.id);
      if (event.data.email?.startsWith("poison"))
        throw new PermanentError("test-poison", `will never send to ${event.data.email}`);
    },
  }),
  defineHandler({
    name: "classifier",
    accepts: ["com.dip.document.ingested"],
    handle: (event) => void seen["classifier"]!.push(event.meta.id),
  }),
);

let emulators: RunningEmulator[];
let settings: LocalSettings;
let environment: LocalEnvironment;
const said: string[] = [];

beforeAll(async () => {
  emulators = await Promise.all([startEmulator("pubsub"), startEmulator("firestore")]);
  // Emulators named in the environment are reused and left running, so a restart sees the same state.
  settings = localSettings({
    PUBSUB_EMULATOR_HOST: emulators[0]!.host,
    FIRESTORE_EMULATOR_HOST: emulators[1]!.host,
    GOOGLE_CLOUD_PROJECT: "environment-test",
    PORT: "0",
  });
  environment = await startLocalEnvironment({
    settings,
    logger: pino({ level: "silent" }),
    registry,
    say: (line) => said.push(line),
    stateFile: false,
  });
});

afterAll(async () => {
  await environment?.stop();
  await Promise.all((emulators ?? []).map((emulator) => emulator.stop()));
});

/** Posts as the type's declared producer, with a token of the local issuer. */
async function post(type: string, data: object): Promise<string> {
  const { producer, source } = posterOf(eventTypesFor("local").system, type);
  const response = await fetch(`${environment.baseUrl}/v1/events`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${await (await localIssuer()).token(producer)}`,
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-type": type,
      "ce-source": source,
      "ce-id": randomUUID(),
    },
    body: JSON.stringify(data),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

describe("the local environment", () => {
  it("hosts implemented consumers and names the others once", () => {
    expect(environment.hosted.map((c) => c.name)).toEqual(
      expect.arrayContaining(["notify-user-created", "classifier", "users-archiver"]),
    );
    const notHosted = said.filter((line) => line.startsWith("not hosted"));
    expect(notHosted).toHaveLength(1);
    expect(notHosted[0]).toContain("email-worker");
    expect(notHosted[0]).not.toContain("notify-user-created");
  });

  it("gives a push consumer a real push subscription to its local endpoint", async () => {
    const pubsub = pubsubClient(environment.settings);
    try {
      const [metadata] = await pubsub
        .subscription(subscriptionOf("notify-user-created"))
        .getMetadata();
      expect(metadata.pushConfig?.pushEndpoint).toBe(
        `${environment.baseUrl}/push/notify-user-created`,
      );
      const [pull] = await pubsub.subscription(subscriptionOf("classifier")).getMetadata();
      expect(pull.pushConfig?.pushEndpoint).toBe("");
    } finally {
      await pubsub.close();
    }
  });

  it("delivers an event to a push consumer, a pull consumer and the event store", async () => {
    const user = await post("com.skillancer.user.created", {
      userId: "u1",
      email: "ana@example.com",
    });
    const doc = await post("com.dip.document.ingested", { documentId: "d1", text: "Invoice 42" });
    await expect.poll(() => seen["notify-user-created"], { timeout: 15_000 }).toContain(user);
    await expect.poll(() => seen["classifier"], { timeout: 15_000 }).toContain(doc);
    const firestore = firestoreClient(environment.settings);
    try {
      await expect
        .poll(async () => (await queryEvents(firestore, {})).map((e) => e.id), { timeout: 15_000 })
        .toEqual(expect.arrayContaining([user, doc]));
    } finally {
      await firestore.terminate();
    }
  });

  it("dead-letters an event its handler refuses for good, with the reason, and counts it", async () => {
    const poison = await post("com.skillancer.user.created", {
      userId: "u2",
      email: "poison@example.com",
    });
    const pubsub = pubsubClient(environment.settings);
    const box = new DeadLetterBox(pubsub);
    const consumer = eventTypesFor("local").system.consumers.find(
      (c) => c.name === "notify-user-created",
    )!;
    try {
      await expect
        .poll(async () => (await box.list(consumer)).map((l) => [l.eventId, l.reason]), {
          timeout: 15_000,
        })
        .toContainEqual([poison, "test-poison"]);
    } finally {
      await box.close();
      await pubsub.close();
    }
    const counters = (await (await fetch(`${environment.baseUrl}/api/consumers`)).json()) as {
      consumer: string;
      received: number;
      deadLettered: number;
    }[];
    expect(counters.find((c) => c.consumer === "notify-user-created")).toMatchObject({
      received: 2,
      deadLettered: 1,
    });
    // A hook is a consumer row of its own, which says where it sends (this registry hosts none).
    expect(counters.find((c) => c.consumer === "optimization-agents")).toMatchObject({
      hook: "http://127.0.0.1:8787/optimization-agents",
    });
  });

  it("changes nothing in the emulator when started again with the same declaration, and records what it provisioned", async () => {
    await environment.stop();
    said.length = 0;
    // A state file of its own: a developer's running npm start keeps its .eventline/.
    const stateDir = mkdtempSync(join(tmpdir(), "eventline-environment-"));
    const stateFile = join(stateDir, "dev.json");
    environment = await startLocalEnvironment({
      settings: { ...settings, port: environment.settings.port },
      logger: pino({ level: "silent" }),
      registry,
      say: (line) => said.push(line),
      stateFile,
    });
    // What eventline plan --stack local compares with: the declaration it just provisioned.
    const recorded = parseDeclarationRecord(
      readFileSync(localDeclarationFile(stateFile), "utf8"),
      "declaration.json",
    );
    expect(planChanges(declarationOf(eventTypesFor("local").system), recorded).changes).toEqual([]);
    rmSync(stateDir, { recursive: true, force: true });
    expect(environment.provisioned).toEqual({
      created: [],
      updated: [],
      recreated: [],
      undeclared: [],
    });
    expect(said).toContain("the emulator already matches the declaration; nothing changed");
  });
});
