import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_STATE_DIR } from "../../tools/local/saved-state";
import { describe, expect, it } from "vitest";
import {
  checkEmulatorInstalled,
  checkEmulatorPort,
  checkGatewayPort,
  checkJava,
  javaMajorVersion,
} from "../../tools/local/preflight";
import { clientSettings, localSettings, LocalEnvironmentError } from "../../tools/local/settings";

const stateFile = (state: object) => {
  const file = join(mkdtempSync(join(tmpdir(), "eventline-state-")), "dev.json");
  writeFileSync(file, JSON.stringify(state));
  return file;
};

describe("the local settings", () => {
  it("default to project eventline-local, emulators on 127.0.0.1:8085 and :8086 and the gateway on 8080", () => {
    expect(localSettings({})).toEqual({
      projectId: "eventline-local",
      pubsubHost: "127.0.0.1:8085",
      firestoreHost: "127.0.0.1:8086",
      port: 8080,
      pubsubFromEnv: false,
      firestoreFromEnv: false,
      stateDir: DEFAULT_STATE_DIR,
    });
  });

  it("reuse emulators named by *_EMULATOR_HOST and start new ones on EVENTLINE_*_PORT otherwise", () => {
    expect(
      localSettings({
        PUBSUB_EMULATOR_HOST: "127.0.0.1:9001",
        EVENTLINE_FIRESTORE_PORT: "9002",
        PORT: "9000",
      }),
    ).toMatchObject({
      pubsubHost: "127.0.0.1:9001",
      pubsubFromEnv: true,
      firestoreHost: "127.0.0.1:9002",
      firestoreFromEnv: false,
      port: 9000,
    });
  });

  it.each([
    [{ PORT: "eighty" }, "PORT=eighty is not a port"],
    [{ PUBSUB_EMULATOR_HOST: "localhost" }, "PUBSUB_EMULATOR_HOST=localhost is not host:port"],
  ])("reject %j with a message naming the variable", (env, message) => {
    expect(() => localSettings(env)).toThrow(LocalEnvironmentError);
    expect(() => localSettings(env)).toThrow(message);
  });

  it("let commands find a running npm start through its state file, with the environment taking precedence", () => {
    const file = stateFile({
      pid: process.pid,
      projectId: "p",
      pubsubHost: "127.0.0.1:7001",
      firestoreHost: "127.0.0.1:7002",
      port: 7000,
    });
    expect(clientSettings({}, file)).toMatchObject({
      projectId: "p",
      pubsubHost: "127.0.0.1:7001",
      firestoreHost: "127.0.0.1:7002",
      port: 7000,
    });
    expect(clientSettings({ PUBSUB_EMULATOR_HOST: "127.0.0.1:5555" }, file)).toMatchObject({
      pubsubHost: "127.0.0.1:5555",
      firestoreHost: "127.0.0.1:7002",
    });
  });

  it("ignore a state file whose process is gone", () => {
    const file = stateFile({
      pid: 2 ** 22 + 12345,
      projectId: "p",
      pubsubHost: "127.0.0.1:7001",
      firestoreHost: "127.0.0.1:7002",
      port: 7000,
    });
    expect(clientSettings({}, file).pubsubHost).toBe("127.0.0.1:8085");
  });
});

describe("the checks before an emulator starts", () => {
  it("name the package to install when an emulator is missing", () => {
    expect(() => checkEmulatorInstalled("pubsub", "/nonexistent/cloud-pubsub-emulator")).toThrow(
      "the Pub/Sub emulator is not installed (no /nonexistent/cloud-pubsub-emulator): install the google-cloud-cli-pubsub-emulator package",
    );
    expect(() =>
      checkEmulatorInstalled("firestore", "/nonexistent/cloud_firestore_emulator"),
    ).toThrow("install the google-cloud-cli-firestore-emulator package");
  });

  it("ask for Java 17 when there is no java", () => {
    expect(javaMajorVersion("/nonexistent/java")).toBeUndefined();
    expect(() => checkJava("/nonexistent/java")).toThrow(
      "Java is not installed: the emulators need Java 17 or later",
    );
  });

  it("say which port is in use and how to choose another or reuse what runs there", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(checkEmulatorPort("pubsub", port)).rejects.toThrow(
        `port ${port} for the Pub/Sub emulator is in use: stop what runs there, pick another port with EVENTLINE_PUBSUB_PORT=<port>, or, if it is an emulator you want to reuse, set PUBSUB_EMULATOR_HOST=127.0.0.1:${port}`,
      );
      await expect(checkGatewayPort(port)).rejects.toThrow(
        `port ${port} for the gateway and dashboard is in use: stop what runs there, or pick another port with PORT=<port>`,
      );
    } finally {
      server.close();
    }
  });
});
