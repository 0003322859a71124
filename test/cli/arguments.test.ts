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
  it.each([
    [["events", "--since", "15m"], "eventline: there is no --since; use --from 15m\n"],
    [
      ["events", "--type", "com.skillancer.user.craeted"],
      "eventline: --type com.skillancer.user.craeted: event type com.skillancer.user.craeted is not declared; did you mean com.skillancer.user.created? (eventline catalog lists the types)\n",
    ],
    [
      ["dlq", "list", "email-workr"],
      expect.stringMatching(
        /^eventline: no consumer named email-workr; did you mean email-worker\? Declared: email-worker, /,
      ),
    ],
    [["dlq", "drop", "router"], "eventline: say which dead letters: --id <id...>, or --all\n"],
    [
      ["token", "cards-ap"],
      expect.stringMatching(/^eventline: no producer named cards-ap; did you mean cards-app\?/),
    ],
    [["events", "--tpye", "x"], "eventline: unknown option '--tpye'\n(Did you mean --type?)\n"],
  ])("names the fix for %j before it starts anything", async (args, stderr) => {
    // No emulator is running: each is refused before the CLI would look for one.
    const result = await runCli(args, {
      env: { FIRESTORE_EMULATOR_HOST: "127.0.0.1:9", PUBSUB_EMULATOR_HOST: "127.0.0.1:9" },
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toEqual(stderr);
  });
});
