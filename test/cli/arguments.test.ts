import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTime } from "../../tools/cli/events";
import { readPayload } from "../../tools/cli/publish";
import { runCli } from "./run-cli";

describe("the CLI's arguments", () => {
  it("reads a payload inline or from @file", () => {
    const file = join(mkdtempSync(join(tmpdir(), "payload-")), "user.json");
    writeFileSync(file, '{"userId":"u1"}');
    expect(readPayload('{"userId":"u0"}')).toEqual({ userId: "u0" });
    expect(readPayload(`@${file}`)).toEqual({ userId: "u1" });
    expect(() => readPayload("@/nonexistent.json")).toThrow(
      "cannot read /nonexistent.json: no such file",
    );
    expect(() => readPayload("{oops")).toThrow("the payload is not JSON");
  });

  it("takes times as RFC 3339 or as a duration ago", () => {
    const now = new Date("2026-11-23T12:00:00Z");
    expect(parseTime("15m", "--from", now).toISOString()).toBe("2026-11-23T11:45:00.000Z");
    expect(parseTime("2026-11-23T10:00:00Z", "--from", now).toISOString()).toBe(
      "2026-11-23T10:00:00.000Z",
    );
    expect(() => parseTime("yesterday", "--to", now)).toThrow("--to yesterday is neither a time");
  });

  it("says clearly when no emulator answers, in one line with exit code 1", async () => {
    const result = await runCli(["events"], {
      env: { FIRESTORE_EMULATOR_HOST: "127.0.0.1:9", PUBSUB_EMULATOR_HOST: "127.0.0.1:9" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "eventline: nothing answers on 127.0.0.1:9, where the Firestore emulator should be: start the local environment with `npm start`, or set FIRESTORE_EMULATOR_HOST to where it runs\n",
    );
  });

  it("refuses a dlq redrive that says neither which dead letters nor --all", async () => {
    const result = await runCli(["dlq", "redrive", "users-archiver"]);
    expect(result).toMatchObject({
      code: 1,
      stderr: "eventline: say which dead letters: --id <id...>, or --all\n",
    });
  });
});
