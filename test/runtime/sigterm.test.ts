import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { provision } from "../../tools/local/provision";
import { useEmulators } from "../support/emulators";
import { publishRaw, shareRequested, waitFor } from "../support/pubsub";
import { applied } from "../support/test-handlers";

const emulators = useEmulators();

interface Worker {
  child: ChildProcess;
  /** Log lines, parsed. */
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Runs the pull host in a child process (tsx), as the container would. */
function startWorker(): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/pull-worker.ts"], {
    env: {
      ...process.env,
      ...emulators.runtimeEnv({
        HANDLER: "email-worker",
        MODE: "local",
        PORT: "0",
        LOG_LEVEL: "info",
      }),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.startsWith("{")) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, "exit").then(([code]) => {
    if (code !== 0) process.stderr.write(stderr);
    return code as number | null;
  });
  return { child, lines, exited };
}

async function appliedCounts(ids: readonly string[]): Promise<number[]> {
  const snapshots = await emulators.firestore.getAll(
    ...ids.map((id) => applied.ref(emulators.firestore, id)),
  );
  return snapshots.map((s) => s.data()?.count ?? 0);
}

beforeAll(async () => {
  await provision(emulators.pubsub, eventTypesFor("local").system, {
    consumers: ["email-worker"],
    retry: { minBackoffSeconds: 0.1, maxBackoffSeconds: 0.5 },
  });
}, 60_000);

describe("SIGTERM", { timeout: 90_000 }, () => {
  it("during a batch loses nothing: after a restart every event is applied exactly once", async () => {
    const messages = Array.from({ length: 60 }, () => shareRequested({ delayMs: "150" }));
    const ids = messages.map((m) => m.attributes["ce-id"]!);
    const first = startWorker();
    await waitFor(
      () => first.lines.some((l) => String(l["message"]).endsWith("started")),
      "the worker to start",
    );
    await publishRaw(emulators.pubsub, messages);
    await waitFor(
      async () => (await appliedCounts(ids)).filter((c) => c > 0).length >= 10,
      "a first part of the batch to be applied",
    );
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    const afterFirst = (await appliedCounts(ids)).filter((c) => c > 0).length;
    expect(afterFirst).toBeLessThan(ids.length);
    expect(first.lines.some((l) => l["message"] === "stopped")).toBe(true);

    const second = startWorker();
    await waitFor(
      async () => (await appliedCounts(ids)).every((c) => c > 0),
      "every event to be applied after the restart",
      60_000,
    );
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
    expect(await appliedCounts(ids)).toEqual(ids.map(() => 1));
  });
});
