/**
 * Clients on named Firestore databases of the test's emulator project (a replay's isolated
 * namespace), closed after the file's tests.
 */
import { Firestore } from "@google-cloud/firestore";
import { afterAll } from "vitest";
import type { EmulatorFixture } from "./emulators";

/** Call at a test file's top level; the function it returns opens a client on database `id`. */
export function useDatabases(env: EmulatorFixture): (id: string) => Firestore {
  const clients: Firestore[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.terminate()));
  });
  return (id) => {
    const client = new Firestore({
      projectId: env.projectId,
      host: env.firestoreHost,
      ssl: false,
      databaseId: id,
    });
    clients.push(client);
    return client;
  };
}
