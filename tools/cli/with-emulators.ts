/**
 * The emulator clients a command needs, found the way every command finds them (environment,
 * then the running `npm start`'s record, then the defaults), checked to answer first, and
 * closed when the command is done.
 */
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import { type EventTypes } from "../../handlers/runtime/event-types";
import { eventTypesFor } from "../../handlers/declared";
import { firestoreClient, pubsubClient, requireEmulators } from "../local/emulator-clients";
import { clientSettings, LOCAL_STACK, type LocalSettings } from "../local/settings";

export interface LocalClients {
  settings: LocalSettings;
  eventTypes: EventTypes;
  pubsub: PubSub;
  firestore: Firestore;
}

/**
 * Runs `work` with clients to the emulators named in `needs`, closing them after.
 * @throws LocalEnvironmentError when an emulator does not answer.
 */
export async function withEmulators<T>(
  needs: readonly ("pubsub" | "firestore")[],
  work: (clients: LocalClients) => Promise<T>,
): Promise<T> {
  const settings = clientSettings();
  await requireEmulators(settings, needs);
  const pubsub = pubsubClient(settings);
  const firestore = firestoreClient(settings);
  try {
    return await work({ settings, eventTypes: eventTypesFor(LOCAL_STACK), pubsub, firestore });
  } finally {
    await Promise.all([pubsub.close(), firestore.terminate()]);
  }
}
