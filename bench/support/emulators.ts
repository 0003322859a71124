/**
 * The emulators a benchmark or fault run measures against: its own Pub/Sub and Firestore
 * emulators on free loopback ports (never a developer's `npm start`), with the JVM heap capped,
 * and a fresh project per run, so runs never see each other's topics, messages or documents.
 * A project is deleted from both emulators when its run ends: their memory only grows, and a
 * full `npm run bench` writes several hundred thousand documents.
 */
import { randomBytes } from "node:crypto";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { eventTypesFor } from "../../handlers/declared";
import {
  clearFirestoreEmulator,
  startEmulator,
  type RunningEmulator,
} from "../../tools/local/emulators";
import { provision, type ProvisionOptions } from "../../tools/local/provision";

// Without it both Google clients look for the cloud metadata server first, off this machine.
process.env["METADATA_SERVER_DETECTION"] = "none";

/** JVM heap of each emulator: a 100 000-message backlog and 20 000-event runs fit; runaway growth does not. */
export const EMULATOR_HEAP = "1536m";

/**
 * Starts one emulator on a free port, trying again on another port when it fails: between
 * choosing a free port and the JVM binding it, another process on this shared machine may
 * take it (the Firestore emulator then fails with a BindException).
 */
async function startOne(kind: "pubsub" | "firestore", port?: number): Promise<RunningEmulator> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEmulator(kind, {
        maxHeap: EMULATOR_HEAP,
        ...(port !== undefined && { port }),
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      process.stderr.write(
        `bench: the ${kind} emulator did not start (attempt ${attempt}); trying again\n`,
      );
    }
  }
}

/** The declaration the benchmarks provision: the local stack's. */
export const benchSystem = eventTypesFor("local").system;

export class BenchEmulators {
  private constructor(
    private pubsubEmulator: RunningEmulator,
    private firestoreEmulator: RunningEmulator,
  ) {}

  /** Starts both emulators on free ports of 127.0.0.1. */
  static async start(): Promise<BenchEmulators> {
    const [pubsub, firestore] = await Promise.all([startOne("pubsub"), startOne("firestore")]);
    return new BenchEmulators(pubsub, firestore);
  }

  get pubsubHost(): string {
    return this.pubsubEmulator.host;
  }

  get firestoreHost(): string {
    return this.firestoreEmulator.host;
  }

  /**
   * Stops the Pub/Sub emulator and starts a new one on the same port, as a crashed emulator
   * restarted by its supervisor would be. The emulator keeps everything in memory: topics,
   * subscriptions and unacked messages are gone afterwards.
   * @returns how long it was down, in milliseconds.
   */
  async restartPubSub(): Promise<number> {
    const started = performance.now();
    const port = Number(this.pubsubEmulator.host.split(":")[1]);
    await this.pubsubEmulator.stop();
    this.pubsubEmulator = await startOne("pubsub", port);
    return performance.now() - started;
  }

  /**
   * Replaces both emulators with new ones on new ports. The emulators' memory only grows, even
   * as projects are deleted: after a few hundred thousand documents the Firestore emulator
   * spends its time collecting garbage at the heap cap and stops answering. Every benchmark
   * and fault scenario starts on fresh ones.
   */
  async recycle(): Promise<void> {
    await this.stop();
    const [pubsub, firestore] = await Promise.all([startOne("pubsub"), startOne("firestore")]);
    this.pubsubEmulator = pubsub;
    this.firestoreEmulator = firestore;
  }

  /** A fresh project for one run, named after it. */
  project(label: string): BenchProject {
    return new BenchProject(this, `bench-${label}-${randomBytes(3).toString("hex")}`);
  }

  async stop(): Promise<void> {
    await Promise.all([this.pubsubEmulator.stop(), this.firestoreEmulator.stop()]);
  }
}

/** One run's project in both emulators, with the driver's own clients. */
export class BenchProject {
  readonly pubsub: PubSub;
  readonly firestore: Firestore;
  private readonly databases: Firestore[] = [];

  constructor(
    private readonly emulators: BenchEmulators,
    readonly projectId: string,
  ) {
    this.pubsub = new PubSub({ projectId, apiEndpoint: emulators.pubsubHost, emulatorMode: true });
    this.firestore = new Firestore({ projectId, host: emulators.firestoreHost, ssl: false });
  }

  /** A client on database `databaseId` of this project (created on first use), closed with the project. */
  database(databaseId: string): Firestore {
    const client = new Firestore({
      projectId: this.projectId,
      host: this.emulators.firestoreHost,
      ssl: false,
      databaseId,
    });
    this.databases.push(client);
    return client;
  }

  /**
   * The environment of a runtime, gateway or baseline process working in this project:
   * local mode against the emulators, quiet logs, a free port. `extra` overrides any of it.
   */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PUBSUB_EMULATOR_HOST: this.emulators.pubsubHost,
      FIRESTORE_EMULATOR_HOST: this.emulators.firestoreHost,
      GOOGLE_CLOUD_PROJECT: this.projectId,
      METADATA_SERVER_DETECTION: "none",
      MODE: "local",
      STACK: "local",
      PORT: "0",
      LOG_LEVEL: "warn",
      ...extra,
    };
  }

  /**
   * Creates the topics and the named consumers' subscriptions (with their dead-letter topics
   * and parking subscriptions), as `npm start` does.
   */
  async provision(
    consumers: readonly string[],
    options: Omit<ProvisionOptions, "consumers"> = {},
  ): Promise<void> {
    await provision(this.pubsub, benchSystem, { ...options, consumers });
  }

  /** Deletes the project's subscriptions, topics and documents, then closes the clients. Never throws. */
  async dispose(): Promise<void> {
    try {
      const [subscriptions] = await this.pubsub.getSubscriptions();
      await Promise.all(subscriptions.map((subscription) => subscription.delete()));
      const [topics] = await this.pubsub.getTopics();
      await Promise.all(topics.map((topic) => topic.delete()));
      await clearFirestoreEmulator(this.emulators.firestoreHost, this.projectId);
    } catch (err) {
      process.stderr.write(
        `bench: could not clean up project ${this.projectId}: ${(err as Error).message.split("\n")[0]}\n`,
      );
    }
    await Promise.allSettled([
      this.pubsub.close(),
      this.firestore.terminate(),
      ...this.databases.map((client) => client.terminate()),
    ]);
  }
}
