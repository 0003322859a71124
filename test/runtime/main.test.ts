import { system } from "../../infra/system";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  databaseSetting,
  pullSubscriptions,
  pushVerification,
  readConfig,
} from "../../handlers/runtime/config";
import { ConfigError, Settings } from "../../handlers/runtime/settings";
import { launch } from "../../handlers/runtime/launcher";

const emulators = { PUBSUB_EMULATOR_HOST: "127.0.0.1:1", FIRESTORE_EMULATOR_HOST: "127.0.0.1:2" };

describe("the runtime's configuration", () => {
  const refusals: { name: string; env: Record<string, string>; message: RegExp }[] = [
    { name: "no HANDLER", env: { MODE: "pull" }, message: /^HANDLER is not set/ },
    { name: "no MODE", env: { HANDLER: "email-worker" }, message: /^MODE is not set/ },
    {
      name: "an unknown MODE",
      env: { HANDLER: "email-worker", MODE: "batch" },
      message: /MODE is "batch": use push, pull or local for a consumer/,
    },
    {
      name: "no STACK outside local mode",
      env: { HANDLER: "email-worker", MODE: "pull" },
      message: /^STACK is not set/,
    },
    {
      name: "local mode without the emulators",
      env: { HANDLER: "email-worker", MODE: "local" },
      message: /^PUBSUB_EMULATOR_HOST is not set/,
    },
    {
      name: "a PORT that is not a port",
      env: { HANDLER: "email-worker", MODE: "pull", STACK: "dev", PORT: "http" },
      message: /PORT is "http"/,
    },
    {
      name: "an unknown LOG_LEVEL",
      env: { HANDLER: "email-worker", MODE: "pull", STACK: "dev", LOG_LEVEL: "loud" },
      message: /LOG_LEVEL is "loud"/,
    },
    {
      name: "an unknown PULL_TRANSPORT",
      env: { HANDLER: "email-worker", MODE: "pull", STACK: "dev", PULL_TRANSPORT: "grpc" },
      message: /PULL_TRANSPORT is "grpc": use streaming or unary/,
    },
  ];
  it.each(refusals)("refuses $name with one line naming the variable", ({ env, message }) => {
    expect(() => readConfig(new Settings(env))).toThrow(ConfigError);
    expect(() => readConfig(new Settings(env))).toThrow(message);
  });

  it("pulls with unary calls against the emulator and with a stream against Pub/Sub, unless told", () => {
    expect(
      readConfig(new Settings({ HANDLER: "email-worker", MODE: "local", ...emulators }))
        .pullTransport,
    ).toBe("unary");
    expect(
      readConfig(new Settings({ HANDLER: "email-worker", MODE: "pull", STACK: "dev" }))
        .pullTransport,
    ).toBe("streaming");
    expect(
      readConfig(
        new Settings({
          HANDLER: "email-worker",
          MODE: "local",
          PULL_TRANSPORT: "streaming",
          ...emulators,
        }),
      ).pullTransport,
    ).toBe("streaming");
  });

  it("pulls the subscription its deploy names, and the one it drains, only if both are the consumer's", () => {
    const settings = (env: Record<string, string>) => new Settings(env);
    expect(pullSubscriptions(settings({}), "email-worker", "email-worker-0a1b2c3d")).toEqual({
      subscription: "email-worker-0a1b2c3d",
    });
    expect(
      pullSubscriptions(
        settings({
          SUBSCRIPTION: "email-worker-11111111",
          DRAINING_SUBSCRIPTION: "email-worker-0a1b2c3d",
        }),
        "email-worker",
        "email-worker-0a1b2c3d",
      ),
    ).toEqual({ subscription: "email-worker-11111111", draining: "email-worker-0a1b2c3d" });
    // An empty DRAINING_SUBSCRIPTION (no migration yet) is none.
    expect(
      pullSubscriptions(
        settings({ DRAINING_SUBSCRIPTION: "" }),
        "email-worker",
        "email-worker-0a1b2c3d",
      ),
    ).toEqual({ subscription: "email-worker-0a1b2c3d" });
    const foreign: Record<string, string>[] = [
      { SUBSCRIPTION: "sms-worker-11111111" },
      { DRAINING_SUBSCRIPTION: "email-worker" },
    ];
    for (const env of foreign)
      expect(() =>
        pullSubscriptions(settings(env), "email-worker", "email-worker-0a1b2c3d"),
      ).toThrow(/is not a subscription of consumer email-worker/);
  });

  it("defaults the stack, project and port in local mode", () => {
    expect(
      readConfig(new Settings({ HANDLER: "email-worker", MODE: "local", ...emulators })),
    ).toMatchObject({ stack: "local", projectId: "eventline-local", port: 8080, logLevel: "info" });
  });

  it.each([
    {
      name: "push mode without an audience",
      env: {},
      mode: "push" as const,
      message: /PUSH_AUDIENCE is not set: MODE=push verifies/,
    },
    {
      name: "PUSH_VERIFY=off outside local mode",
      env: { PUSH_VERIFY: "off", PUSH_AUDIENCE: "a" },
      mode: "push" as const,
      message: /accepted only with MODE=local/,
    },
    {
      name: "local mode with neither an audience nor PUSH_VERIFY=off",
      env: {},
      mode: "local" as const,
      message: /set PUSH_VERIFY=off/,
    },
    {
      name: "a PUSH_VERIFY other than off",
      env: { PUSH_VERIFY: "no" },
      mode: "local" as const,
      message: /only value it takes is "off"/,
    },
  ])("refuses to verify pushes with $name", ({ env, mode, message }) => {
    expect(() => pushVerification(new Settings(env), mode)).toThrow(message);
  });

  it("tells an archiver the event store's database and any other consumer the state database, each reading its own setting only", () => {
    const env = {
      FIRESTORE_EVENT_STORE_DATABASE: "eventline-events",
      FIRESTORE_STATE_DATABASE: "eventline",
    };
    const archiver = new Settings(env);
    expect(databaseSetting(archiver, "event-store")).toBe("eventline-events");
    expect(archiver.read().map((read) => read.name)).toEqual(["FIRESTORE_EVENT_STORE_DATABASE"]);
    const handler = new Settings(env);
    expect(databaseSetting(handler, "state")).toBe("eventline");
    expect(handler.read().map((read) => read.name)).toEqual(["FIRESTORE_STATE_DATABASE"]);
    // Locally neither is set: both are the emulator's unnamed database.
    expect(databaseSetting(new Settings({}), "event-store")).toBe("(default)");
    expect(databaseSetting(new Settings({}), "state")).toBe("(default)");
  });

  it("turns push verification off only when local mode says so explicitly", () => {
    expect(pushVerification(new Settings({ PUSH_VERIFY: "off" }), "local")).toEqual({
      verify: false,
    });
    expect(
      pushVerification(
        new Settings({
          PUSH_AUDIENCE: "https://x.run.app",
          PUSH_SERVICE_ACCOUNT: "sa@p.iam.gserviceaccount.com",
        }),
        "push",
      ),
    ).toEqual({
      verify: true,
      audience: "https://x.run.app",
      serviceAccountEmail: "sa@p.iam.gserviceaccount.com",
    });
  });
});

describe("handlers/main.ts", { timeout: 30_000 }, () => {
  function main(env: Record<string, string>): { status: number | null; stderr: string } {
    const result = spawnSync(process.execPath, ["--import", "tsx", "handlers/main.ts"], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    return { status: result.status, stderr: result.stderr };
  }

  const starts: { name: string; env: Record<string, string>; line: RegExp }[] = [
    {
      name: "an unknown consumer",
      env: { HANDLER: "nope", MODE: "pull", STACK: "dev" },
      line: /^eventline: HANDLER is "nope", which is not a declared consumer/,
    },
    {
      name: "an unknown mode",
      env: { HANDLER: "email-worker", MODE: "batch" },
      line: /^eventline: MODE is "batch": use push, pull or local for a consumer, gateway or tracker for those services$/,
    },
    {
      name: "a consumer run in the wrong mode",
      env: { HANDLER: "email-worker", MODE: "push", STACK: "dev" },
      line: /^eventline: consumer email-worker is declared with delivery "pull"; run it with MODE=pull$/,
    },
  ];
  it.each(starts)("exits 2 with one line for $name", ({ env, line }) => {
    const { status, stderr } = main(env);
    expect(status).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr.trim()).toMatch(line);
  });

  it("exits 2 before it takes a message when a capability's settings are missing, naming every one and how to set it", () => {
    const { status, stderr } = main({
      HANDLER: "email-worker",
      MODE: "pull",
      STACK: "dev",
      EVENTLINE_EMAIL_TRANSPORT: "smtp",
    });
    expect(status).toBe(2);
    expect(stderr).toMatch(
      /^eventline: consumer email-worker cannot start; settings are missing or wrong:/,
    );
    expect(stderr).toContain(
      "EVENTLINE_SMTP_URL is not set: the SMTP server to send through, smtp(s)://user:password@host:port (pulumi config set --secret eventline:smtpUrl",
    );
    expect(stderr).toContain("EVENTLINE_TRACKER_URL is not set");
    expect(stderr).toContain(
      "EVENTLINE_CARD_BASE_URL is not set: a click lands on <url>/cards/<cardId> (pulumi config set eventline:cardBaseUrl",
    );
  });

  it("refuses to start a consumer whose contract uses a capability the image has no check for", async () => {
    await expect(
      launch({
        system,
        registry: { "email-sender": { kind: "archiver" } as never },
        env: { HANDLER: "email-worker", MODE: "pull", STACK: "dev" },
        handleSignals: false,
      }),
    ).rejects.toThrow(
      "consumer email-worker uses smtp, which this image has no settings check for",
    );
  });

  it("refuses a consumer whose handler is declared but has no implementation yet", async () => {
    await expect(
      launch({
        system,
        registry: {},
        env: { HANDLER: "email-worker", MODE: "pull", STACK: "dev" },
        handleSignals: false,
      }),
    ).rejects.toThrow(
      new ConfigError(
        "handler email-sender (consumer email-worker) is declared but has no implementation yet: add it to handlers/registry.ts",
      ),
    );
  });
});
