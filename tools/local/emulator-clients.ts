/**
 * The Google clients pointed at the emulators, built from explicit settings rather than the
 * clients' own reading of the environment, so `npm start`, the CLI and tests all reach the
 * emulators they mean. Before a command relies on an emulator it checks that it answers, so
 * "nothing is running" is one clear line instead of a gRPC retry loop.
 */
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { LocalEnvironmentError, type LocalSettings } from "./settings";

const names = {
  pubsub: ["the Pub/Sub emulator", "PUBSUB_EMULATOR_HOST"],
  firestore: ["the Firestore emulator", "FIRESTORE_EMULATOR_HOST"],
} as const;

/**
 * Stops the clients probing the cloud metadata server (a DNS lookup and a request off the
 * machine) before their first call: against the emulators, traffic stays on loopback.
 */
export function stayOnLoopback(): void {
  process.env["METADATA_SERVER_DETECTION"] = "none";
}

export function pubsubClient(settings: Pick<LocalSettings, "projectId" | "pubsubHost">): PubSub {
  stayOnLoopback();
  return new PubSub({
    projectId: settings.projectId,
    apiEndpoint: settings.pubsubHost,
    emulatorMode: true,
  });
}

export function firestoreClient(
  settings: Pick<LocalSettings, "projectId" | "firestoreHost">,
): Firestore {
  stayOnLoopback();
  return new Firestore({ projectId: settings.projectId, host: settings.firestoreHost, ssl: false });
}

/** True when an emulator answers HTTP on `host` (both answer "Ok" on `/`). */
export async function answers(host: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** @throws LocalEnvironmentError naming the emulator, its address and what to do, when it does not answer. */
export async function requireEmulators(
  settings: LocalSettings,
  which: readonly (keyof typeof names)[],
): Promise<void> {
  for (const kind of which) {
    const host = kind === "pubsub" ? settings.pubsubHost : settings.firestoreHost;
    if (await answers(host)) continue;
    const [name, variable] = names[kind];
    throw new LocalEnvironmentError(
      `nothing answers on ${host}, where ${name} should be: start the local environment with \`npm start\`, or set ${variable} to where it runs`,
    );
  }
}
