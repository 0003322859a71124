/**
 * The Google clients replay, backtest and seek work with: the local emulators (found the way
 * every CLI command finds them, tools/local/settings.ts), or a cloud project through
 * Application Default Credentials. Besides the live database's client, a replay needs clients
 * on databases of its own, made here with the same settings so they reach the same place.
 */
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import {
  firestoreClient,
  pubsubClient,
  requireEmulators,
  stayOnLoopback,
} from "../local/emulator-clients";
import { clientSettings } from "../local/settings";
import { ReplayError } from "./errors";

export interface ReplayClients {
  /** The project the clients work in. */
  projectId: string;
  /** Where they point, for messages: "the emulators" or "project <id>". */
  where: string;
  pubsub: PubSub;
  /** The live database: the event store, snapshots/. */
  firestore: Firestore;
  /** A client on database `id` of the same project (isolation.ts checks it before use). */
  database(id: string): Firestore;
}

export interface ReplayClientOptions {
  /** A Google Cloud project to work in. Default: the local emulators. */
  project?: string;
  /** The emulators that must answer (ignored in the cloud). */
  needs: readonly ("pubsub" | "firestore")[];
}

/**
 * Runs `work` with clients, and closes every client it made after.
 * @throws ReplayError when a project is given while an emulator variable is set.
 */
export async function withReplayClients<T>(
  options: ReplayClientOptions,
  work: (clients: ReplayClients) => Promise<T>,
): Promise<T> {
  const made: Firestore[] = [];
  let clients: ReplayClients;
  if (options.project !== undefined) {
    // The Google clients read these themselves and would talk to an emulator under the project's name.
    const emulators = ["FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"].filter(
      (name) => process.env[name],
    );
    if (emulators.length > 0)
      throw new ReplayError(
        `--project ${options.project} asks for the cloud, but ${emulators.join(" and ")} ${emulators.length === 1 ? "is" : "are"} set and the Google clients would use the emulator; unset ${emulators.length === 1 ? "it" : "them"}`,
      );
    const projectId = options.project;
    const database = (databaseId?: string): Firestore => {
      const client = new Firestore({ projectId, ...(databaseId !== undefined && { databaseId }) });
      made.push(client);
      return client;
    };
    clients = {
      projectId,
      where: `project ${projectId}`,
      pubsub: new PubSub({ projectId }),
      firestore: database(),
      database,
    };
  } else {
    const settings = clientSettings();
    await requireEmulators(settings, options.needs);
    const live = firestoreClient(settings);
    made.push(live);
    const database = (databaseId: string): Firestore => {
      stayOnLoopback();
      const client = new Firestore({
        projectId: settings.projectId,
        host: settings.firestoreHost,
        ssl: false,
        databaseId,
      });
      made.push(client);
      return client;
    };
    clients = {
      projectId: settings.projectId,
      where: "the emulators",
      pubsub: pubsubClient(settings),
      firestore: live,
      database,
    };
  }
  try {
    return await work(clients);
  } finally {
    await Promise.all([clients.pubsub.close(), ...made.map((client) => client.terminate())]);
  }
}
