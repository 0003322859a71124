/**
 * `eventline new consumer` on a copy of the repository: the declaration, the registry, the
 * handler and its test are written; the copy still typechecks, and the new test passes at once.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import { freePort } from "../../tools/local/emulators";
import { checkRequest, newConsumer, ScaffoldError } from "../../tools/scaffold/new-consumer";
import { samplePayloads } from "../../tools/samples/events";
import { copyOfRepository, REPO } from "../support/repository-copy";

const { system } = eventTypesFor("local");

describe("eventline new consumer", () => {
  let root: string;

  beforeAll(async () => {
    root = copyOfRepository();
    const result = await newConsumer(
      system,
      {
        name: "welcome-mailer",
        topic: "users",
        accepts: ["com.skillancer.user.created"],
        delivery: "pull",
        description: "Sends new users a welcome.",
      },
      root,
    );
    expect(result.handlerFile).toBe("handlers/marketplace/welcome-mailer.ts");
    expect(result.testFile).toBe("test/handlers/welcome-mailer.test.ts");
  }, 60_000);

  it("declares the contract and the consumer, and registers the handler", () => {
    const declaration = readFileSync(join(root, "infra", "system.ts"), "utf8");
    expect(declaration).toContain(
      `"welcome-mailer": {\n      accepts: ["com.skillancer.user.created"],\n      description: "Sends new users a welcome.",\n    },`,
    );
    expect(declaration).toContain(
      `"welcome-mailer": { handler: "welcome-mailer", topic: "users", delivery: "pull" },`,
    );
    const registry = readFileSync(join(root, "handlers", "registry.ts"), "utf8");
    expect(registry).toContain(`import { welcomeMailer } from "./marketplace/welcome-mailer";`);
    expect(registry).toMatch(/ {2}welcomeMailer,\n\);/);
  });

  it("leaves a repository that typechecks, whose new test passes at once", () => {
    const tsc = spawnSync(
      process.execPath,
      [join(REPO, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "tsconfig.json"],
      { cwd: root, encoding: "utf8" },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const test = spawnSync(
      process.execPath,
      [
        join(REPO, "node_modules", "vitest", "vitest.mjs"),
        "run",
        "test/handlers/welcome-mailer.test.ts",
      ],
      {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, METADATA_SERVER_DETECTION: "none" },
      },
    );
    expect(test.status, test.stdout + test.stderr).toBe(0);
    expect(test.stdout).toContain("1 passed");
  }, 240_000);

  it("runs under npm start, where its info lines show by default", async () => {
    const [gateway, pubsub, firestore] = [await freePort(), await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      METADATA_SERVER_DETECTION: "none",
      PORT: String(gateway),
      EVENTLINE_PUBSUB_PORT: String(pubsub),
      EVENTLINE_FIRESTORE_PORT: String(firestore),
      EVENTLINE_STATE_DIR: join(mkdtempSync(join(tmpdir(), "new-consumer-state-")), "firestore"),
      GOOGLE_CLOUD_PROJECT: "new-consumer",
    };
    delete env["PUBSUB_EMULATOR_HOST"];
    delete env["FIRESTORE_EMULATOR_HOST"];
    let output = "";
    const start = spawn("npm", ["start", "--silent"], {
      cwd: root,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    start.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    start.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => start.once("exit", resolve));
    try {
      await expect
        .poll(() => output, { timeout: 120_000, interval: 250 })
        .toContain("eventline ready");
      const publish = spawnSync(
        process.execPath,
        [
          join(root, "tools", "cli", "eventline.cjs"),
          "publish",
          "com.skillancer.user.created",
          JSON.stringify(samplePayloads["com.skillancer.user.created"]),
        ],
        {
          cwd: root,
          encoding: "utf8",
          env: {
            ...env,
            PUBSUB_EMULATOR_HOST: `127.0.0.1:${pubsub}`,
            FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestore}`,
          },
        },
      );
      expect(publish.status, publish.stderr).toBe(0);
      // The template's ctx.log.info line, printed without --log-level.
      await expect
        .poll(() => output, { timeout: 60_000, interval: 250 })
        .toContain("welcome-mailer handled an event");
    } finally {
      process.kill(-start.pid!, "SIGINT");
      const timer = setTimeout(() => process.kill(-start.pid!, "SIGKILL"), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }, 300_000);

  it.each([
    [{ name: "Welcome_Mailer" }, "is not a consumer name"],
    [{ name: "search-users" }, "a consumer or handler named search-users is already declared"],
    [{ topic: "user" }, "no topic named user; did you mean users?"],
    [{ accepts: [] }, "say which event types it accepts: --accepts <type...>; users carries"],
    [
      { accepts: ["com.skillancer.user.craeted"] },
      "users does not carry com.skillancer.user.craeted; did you mean com.skillancer.user.created?",
    ],
    [{ accepts: ["com.skillancer.project.created"] }, "users does not carry"],
  ])("refuses %j, naming the fix, before writing anything", (change, message) => {
    const request = {
      name: "welcome-mailer",
      topic: "users",
      accepts: ["com.skillancer.user.created"],
      delivery: "push" as const,
      ...change,
    };
    expect(() => checkRequest(system, request)).toThrow(ScaffoldError);
    expect(() => checkRequest(system, request)).toThrow(message);
  });
});
