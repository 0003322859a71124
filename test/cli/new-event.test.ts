/**
 * `eventline new event` on a copy of the repository: the protobuf message and the topic's oneof
 * member are added, proto/gen/ regenerated, the type declared with a sample; the copy still
 * typechecks, and its catalog lists the new type.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { eventTypesFor } from "../../handlers/declared";
import {
  checkEventRequest,
  newEvent,
  parseField,
  ScaffoldError,
  type NewEventRequest,
} from "../../tools/scaffold/new-event";
import { copyOfRepository, REPO } from "../support/repository-copy";

const { system } = eventTypesFor("local");

const request: NewEventRequest = {
  type: "com.skillancer.user.deleted",
  topic: "users",
  fields: ["user_id:string", "reasons:string[]", "revision:int64"].map(parseField),
  subject: "userId",
  description: "A user closed their account.",
};

describe("eventline new event", () => {
  let root: string;

  beforeAll(async () => {
    root = copyOfRepository();
    const result = await newEvent(system, request, root);
    expect(result.message).toBe("marketplace.v1.UserDeleted");
  }, 120_000);

  it("adds the message beside the topic's events and a oneof member after the last", () => {
    const events = readFileSync(
      join(root, "proto", "marketplace", "v1", "marketplace.proto"),
      "utf8",
    );
    expect(events).toContain(
      "// A user closed their account.\nmessage UserDeleted {\n  string user_id = 1;\n  repeated string reasons = 2;\n  int64 revision = 3;\n}\n",
    );
    const topics = readFileSync(join(root, "proto", "marketplace", "v1", "topics.proto"), "utf8");
    expect(topics).toMatch(
      /message UsersTopic \{\n {2}oneof event \{\n(.*\n)*? {4}UserDeleted user_deleted = 3;\n {2}\}/,
    );
    expect(readFileSync(join(root, "proto", "gen", "index.d.ts"), "utf8")).toContain(
      "class UserDeleted",
    );
  });

  it("declares the type on its topic and gives it a sample", () => {
    expect(readFileSync(join(root, "infra", "system.ts"), "utf8")).toContain(
      `"com.skillancer.user.deleted": {\n          message: marketplace.v1.UserDeleted,\n          description: "A user closed their account.",\n          subject: "userId",\n        },`,
    );
    expect(readFileSync(join(root, "tools", "samples", "events.ts"), "utf8")).toContain(
      `"com.skillancer.user.deleted": { userId: "user-id-1", reasons: ["reasons-1"], revision: 1 },`,
    );
  });

  it("leaves a repository that typechecks and whose catalog lists the type", () => {
    const tsc = spawnSync(
      process.execPath,
      [join(REPO, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "tsconfig.json"],
      { cwd: root, encoding: "utf8" },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const catalog = spawnSync(process.execPath, ["tools/cli/eventline.cjs", "catalog"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(catalog.status, catalog.stderr).toBe(0);
    expect(catalog.stdout).toContain(
      "| `com.skillancer.user.deleted` | `users` | — | — | `marketplace.v1.UserDeleted` (protobuf) |",
    );
  }, 240_000);

  it.each([
    [
      { type: "com.skillancer.UserDeleted" },
      "is not an event type: use com.<org>.<domain>.<action>",
    ],
    [{ type: "com.skillancer.user.created" }, "com.skillancer.user.created is already declared"],
    [{ topic: "user" }, "no topic named user; did you mean users?"],
    [{ fields: [] }, "say what the event carries: --field <name>:<type>"],
    [
      { subject: "userID" },
      "--subject userID must name a string field of the event; did you mean userId?",
    ],
    [{ subject: "revision" }, "--subject revision must name a string field"],
  ])("refuses %j, naming the fix, before writing anything", (change, message) => {
    const bad = { ...request, ...change };
    expect(() => checkEventRequest(system, bad)).toThrow(ScaffoldError);
    expect(() => checkEventRequest(system, bad)).toThrow(message);
  });

  it.each(["user_id", "user_id:uuid", "UserId:string", "tags:string[][]"])(
    "refuses --field %s with the form and the types",
    (spec) => {
      expect(() => parseField(spec)).toThrow(
        "expected <snake_case_name>:<type> or <name>:<type>[] with a type among string, int64, int32, double, bool",
      );
    },
  );
});
