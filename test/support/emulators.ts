/**
 * A per-file emulator fixture: `useEmulators()` in a test file starts the Pub/Sub and
 * Firestore emulators once for the file (or reuses those PUBSUB_EMULATOR_HOST and
 * FIRESTORE_EMULATOR_HOST name), gives the file a project id of its own, so files sharing
 * emulators never see each other's topics or documents, and stops what it started.
 */
import { randomBytes } from "node:crypto";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll } from "vitest";
import { emulatorFromEnvOrStart, type RunningEmulator } from "../../tools/local/emulators";

export interface EmulatorFixture {
  /** This file's project id in both emulators. */
  readonly projectId: string;
  readonly pubsubHost: string;
  readonly firestoreHost: string;
  /** A client for the test itself (created once, closed after the file). */
  readonly pubsub: PubSub;
  readonly firestore: Firestore;
  /** The environment a runtime (in-process or child) needs to reach these emulators. */
  runtimeEnv(extra?: Record<string, string>): Record<string, string>;
}

/**
 * Registers beforeAll/afterAll hooks and returns the fixture, usable inside tests.
 * @param options.pubsub start (or reuse) the Pub/Sub emulator too. Default true.
 */
export function useEmulators(options: { pubsub?: boolean } = {}): EmulatorFixture {
  // Without it both Google clients try the cloud metadata server first, off this machine.
  process.env["METADATA_SERVER_DETECTION"] = "none";
  const projectId = `eventline-test-${randomBytes(4).toString("hex")}`;
  let pubsubEmulator: RunningEmulator | undefined;
  let firestoreEmulator: RunningEmulator | undefined;
  let pubsub: PubSub | undefined;
  let firestore: Firestore | undefined;

  beforeAll(async () => {
    [pubsubEmulator, firestoreEmulator] = await Promise.all([
      options.pubsub === false ? undefined : emulatorFromEnvOrStart("pubsub"),
      emulatorFromEnvOrStart("firestore"),
    ]);
    if (pubsubEmulator !== undefined)
      pubsub = new PubSub({ projectId, apiEndpoint: pubsubEmulator.host, emulatorMode: true });
    firestore = new Firestore({ projectId, host: firestoreEmulator.host, ssl: false });
  }, 60_000);

  afterAll(async () => {
    await pubsub?.close();
    await firestore?.terminate();
    await Promise.all([pubsubEmulator?.stop(), firestoreEmulator?.stop()]);
  }, 30_000);

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`the emulator fixture's ${what} is used before beforeAll ran`);
    return value;
  };
  return {
    projectId,
    get pubsubHost() {
      return started(pubsubEmulator, "Pub/Sub emulator").host;
    },
    get firestoreHost() {
      return started(firestoreEmulator, "Firestore emulator").host;
    },
    get pubsub() {
      return started(pubsub, "PubSub client");
    },
    get firestore() {
      return started(firestore, "Firestore client");
    },
    runtimeEnv(extra = {}) {
      return {
        PUBSUB_EMULATOR_HOST: started(pubsubEmulator, "Pub/Sub emulator").host,
        FIRESTORE_EMULATOR_HOST: started(firestoreEmulator, "Firestore emulator").host,
        GOOGLE_CLOUD_PROJECT: projectId,
        METADATA_SERVER_DETECTION: "none",
        ...extra,
      };
    },
  };
}
