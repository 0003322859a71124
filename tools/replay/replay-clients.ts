/**
 * The Google clients replay, backtest and seek work with: the local emulators (found the way
 * every CLI command finds them, tools/local/settings.ts), or a cloud project through
 * Application Default Credentials, in the cloud as the stack's replay account
 * (`ops-replay`, the `replayAccount` output; docs/deploy.md). A replay reads the event store,
 * and writes into databases of its own and into the snapshots database:
 *
 * - locally everything is on the Firestore emulator: the event store is its `(default)`
 *   database (as `npm start` keeps it), and a replay may write into any other database, which
 *   the emulator creates on first use;
 * - in the cloud the event store is the stack's (`eventline:eventStoreDatabase`, read from the
 *   stack's config), and a replay writes only into the databases the program declares for the
 *   replay tools (infra/model/databases.ts), which are the only ones its account may write.
 */
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { stackConfig } from "../../infra/evaluate";
import {
  DEFAULT_DATABASES,
  REPLAY_TOOL_DATABASES,
  SNAPSHOTS_DATABASE,
} from "../../infra/model/databases";
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
  /** The event store's database (`events/`): read, never written. */
  firestore: Firestore;
  /** The database projection snapshots are kept in (`snapshots/`). */
  snapshots: Firestore;
  /** The consumers' state database (processed records, processing epochs): `seek --reprocess` writes it. */
  state: Firestore;
  /**
   * A client on database `id` of the same project (isolation.ts checks it before use).
   * @throws ReplayError in the cloud for a database the program does not declare for the replay tools.
   */
  database(id: string): Firestore;
}

export interface ReplayClientOptions {
  /** A Google Cloud project to work in. Default: the local emulators. */
  project?: string;
  /** The stack whose event store a cloud replay reads (its config names the database). Default `local`. */
  stack?: string;
  /** The emulators that must answer (ignored in the cloud). */
  needs: readonly ("pubsub" | "firestore")[];
}

/** The event store's database of `stack`, as its config (Pulumi.yaml, Pulumi.<stack>.yaml) names it. */
export function eventStoreDatabaseOf(stack: string): string {
  return stackConfig(stack).values["eventline:eventStoreDatabase"] || DEFAULT_DATABASES.eventStore;
}

/** The consumers' state database of `stack`, as its config names it. */
export function stateDatabaseOf(stack: string): string {
  return stackConfig(stack).values["eventline:stateDatabase"] || DEFAULT_DATABASES.state;
}

/** @throws ReplayError when a cloud replay would write into a database the program does not declare for it. */
function checkDeclared(id: string, project: string): void {
  if (REPLAY_TOOL_DATABASES.includes(id)) return;
  throw new ReplayError(
    `database ${id} is not one the program declares for the replay tools in project ${project} (${REPLAY_TOOL_DATABASES.join(", ")}); the replay account may write only those: use --database replay (replay) or --database backtest (backtest)`,
  );
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
    const client = (databaseId: string): Firestore => {
      const opened = new Firestore({ projectId, databaseId });
      made.push(opened);
      return opened;
    };
    clients = {
      projectId,
      where: `project ${projectId}`,
      pubsub: new PubSub({ projectId }),
      firestore: client(eventStoreDatabaseOf(options.stack ?? "local")),
      snapshots: client(SNAPSHOTS_DATABASE),
      state: client(stateDatabaseOf(options.stack ?? "local")),
      database: (id) => {
        checkDeclared(id, projectId);
        return client(id);
      },
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
      snapshots: database(SNAPSHOTS_DATABASE),
      // Locally every consumer keeps its state in the emulator's default database, as npm start runs them.
      state: live,
      database,
    };
  }
  try {
    return await work(clients);
  } finally {
    await Promise.all([clients.pubsub.close(), ...made.map((client) => client.terminate())]);
  }
}
