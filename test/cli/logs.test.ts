import { mkdtempSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { formatLine, logsCommand } from "../../tools/cli/logs";

const line = (consumer: string | undefined, msg: string, extra: object = {}) =>
  JSON.stringify({ level: 30, time: Date.parse("2026-12-07T10:00:00Z"), consumer, msg, ...extra });

async function logs(file: string, args: string[]): Promise<string> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await logsCommand(file).parseAsync(args, { from: "user" });
  } finally {
    spy.mockRestore();
  }
  return written.join("");
}

afterEach(() => vi.restoreAllMocks());

describe("eventline logs", () => {
  it("prints one consumer's lines, the last n, with the event's ids", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "logs-")), "local.jsonl");
    writeFileSync(
      file,
      [
        line("email-worker", "first"),
        line(undefined, "event accepted"),
        line("email-worker", "invitation sent", { eventId: "e-1" }),
        line("sms-worker", "text sent"),
        '{"cut by a cra',
      ].join("\n") + "\n",
    );
    expect(await logs(file, ["email-worker", "--lines", "1"])).toBe(
      "2026-12-07T10:00:00.000Z INFO [email-worker] invitation sent  eventId=e-1\n",
    );
    expect((await logs(file, [])).split("\n").filter(Boolean)).toHaveLength(4);
    appendFileSync(file, `${line("email-worker", "later")}\n`);
    expect(await logs(file, ["email-worker", "--json"])).toContain('"msg":"later"');
  });

  it("reads the Cloud Logging form too, errors on one line", () => {
    expect(
      formatLine({
        time: "2026-12-07T10:00:00.000Z",
        severity: "ERROR",
        consumer: "router",
        message: "handler failed",
        err: { type: "RetryableError", message: "provider down" },
      }),
    ).toBe(
      "2026-12-07T10:00:00.000Z ERROR [router] handler failed RetryableError: provider down\n",
    );
  });

  it("names the fix for a consumer it does not know, and for no log at all", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "logs-")), "local.jsonl");
    await expect(logs(file, ["email-workr"])).rejects.toThrow("did you mean email-worker?");
    await expect(logs(file, [])).rejects.toThrow("start the local environment with npm start");
  });
});
