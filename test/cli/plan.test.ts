/** `eventline plan` as a user runs it: against a deployed declaration written to a file. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { resolveSystem, subscriptionName } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { REFUSED_EXIT_CODE } from "../../tools/cli/plan";
import { runCli } from "./run-cli";

const dir = mkdtempSync(join(tmpdir(), "eventline-plan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deployedFile(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

const deployed = declarationOf(resolveSystem(system, "dev"));
const filtered = deployed.subscriptions.find((s) => s.filter !== undefined)!;

describe("eventline plan", () => {
  it("says when nothing is known to be deployed and plans everything as new", async () => {
    const result = await runCli(["plan", "--stack", "prod"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("## eventline plan: prod");
    expect(result.stdout).toContain("No deployed declaration is known for this stack");
    expect(result.stdout).not.toMatch(/\*\*(refused|in place|delete)\*\*/);
  });

  it("prints no changes against what it deploys itself", async () => {
    const result = await runCli([
      "plan",
      "--stack",
      "dev",
      "--deployed",
      deployedFile("same.json", deployed),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("No changes");
  });

  it("refuses a deployed filter that differs, with the fix, and exits 2", async () => {
    // The deployed subscription had another filter than the declaration has now.
    const before = structuredClone(deployed);
    before.subscriptions.find((s) => s.consumer === filtered.consumer)!.filter =
      'attributes.ce-type = "com.example.before"';
    const result = await runCli([
      "plan",
      "--stack",
      "dev",
      "--deployed",
      deployedFile("filter.json", before),
    ]);
    expect(result.code).toBe(REFUSED_EXIT_CODE);
    expect(result.stdout).toContain(`**refused** subscription \`${filtered.consumer}\`: filter`);
    expect(result.stdout).toContain("guard: replace-without-migration, backlog-without-migration");
    expect(result.stdout).toContain("fix: ");
    expect(result.stdout).toContain("**1 change is refused**");
  });

  it("plans a filter change under the name the program derives as a replace with migration, and exits 0", async () => {
    // Deployed with another filter, under the name the program gave it then.
    const before = structuredClone(deployed);
    const was = before.subscriptions.find((s) => s.consumer === filtered.consumer)!;
    was.filter = 'attributes.ce-type = "com.example.before"';
    was.name = subscriptionName(was.consumer, was);
    const result = await runCli([
      "plan",
      "--stack",
      "dev",
      "--deployed",
      deployedFile("migrated.json", before),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("1 change: 1 replace with migration.");
    expect(result.stdout).toContain(
      `**replace with migration** subscription \`${filtered.consumer}\`: name`,
    );
    expect(result.stdout).toContain(`${filtered.name} is created beside ${was.name}`);
    expect(result.stdout).not.toContain("**refused**");
  });

  it("prints JSON with --json, reading the deployed declaration from stdin", async () => {
    const before = structuredClone(deployed);
    before.subscriptions[0]!.ackDeadlineSeconds += 1;
    const result = await runCli(["plan", "--stack", "dev", "--deployed", "-", "--json"], {
      input: JSON.stringify(before),
    });
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      refused: number;
      changes: { consequence: string }[];
    };
    expect(plan.refused).toBe(0);
    expect(plan.changes.map((c) => c.consequence)).toEqual(["in-place"]);
  });

  it.each([
    [["--stack", "nope"], "--stack nope: no Pulumi.nope.yaml"],
    [["--stack", "dev", "--deployed", join(dir, "missing.json")], "cannot read it (ENOENT)"],
    [["--stack", "dev", "--deployed", "BAD"], "is not JSON"],
    [["--stack", "prod", "--deployed", "DEV"], "is the declaration of stack dev, not prod"],
  ])("refuses %j with a clear error", async (args, message) => {
    const files: Record<string, string> = {
      BAD: deployedFile("bad.json", "{not json"),
      DEV: deployedFile("dev.json", deployed),
    };
    const result = await runCli(["plan", ...args.map((arg) => files[arg] ?? arg)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("unexpected error");
  });
});
