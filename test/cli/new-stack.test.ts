/**
 * `eventline new stack` on a copy of the repository: the stack file, the declaration's stack
 * changes and the policy config are copied together, so the new stack passes the policy pack as
 * soon as its project is set.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ScaffoldError } from "../../tools/scaffold/new-consumer";
import { newStack } from "../../tools/scaffold/new-stack";
import { copyOfRepository, REPO } from "../support/repository-copy";

describe("eventline new stack", () => {
  let root: string;

  beforeAll(async () => {
    root = copyOfRepository();
    const result = await newStack("staging", "dev", root);
    expect(result.written).toEqual([
      "Pulumi.staging.yaml",
      "policies/config/staging.json",
      "infra/system.ts",
    ]);
  }, 60_000);

  it("copies the stack file with its project left to set, and the policy config", () => {
    const stackFile = readFileSync(join(root, "Pulumi.staging.yaml"), "utf8");
    expect(stackFile).toContain("gcp:project: REPLACE-with-the-project-id");
    expect(stackFile).toContain('eventline:maxReplicasCap: "10"');
    expect(readFileSync(join(root, "policies", "config", "staging.json"), "utf8")).toBe(
      readFileSync(join(REPO, "policies", "config", "dev.json"), "utf8"),
    );
  });

  it("copies dev's declaration changes, which keep the workers within the copied cap", () => {
    const declaration = readFileSync(join(root, "infra", "system.ts"), "utf8");
    expect(declaration).toMatch(
      /\/\/ staging: copied from dev by eventline new stack; change what differs\.\n\s+staging: \{\n\s+consumers: \{\n\s+"email-worker": \{ gke: \{ replicas: \{ max: 5 \} \} \},/,
    );
  });

  it("passes the policy pack once its project is set", () => {
    const file = join(root, "Pulumi.staging.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace("REPLACE-with-the-project-id", "eventline-staging"),
    );
    const policy = spawnSync(
      process.execPath,
      [
        join(REPO, "node_modules", "tsx", "dist", "cli.mjs"),
        "policies/check.ts",
        "--stack",
        "staging",
      ],
      { cwd: root, encoding: "utf8" },
    );
    expect(policy.status, policy.stdout + policy.stderr).toBe(0);
    expect(policy.stdout).toContain("No policy violations.");
  }, 120_000);

  it.each([
    ["staging", "dev", "Pulumi.staging.yaml exists already"],
    ["Staging!", "dev", "is not a stack name"],
    ["qa", "deb", "no stack deb to copy; did you mean dev?"],
  ])("refuses %s from %s, writing nothing", async (name, from, message) => {
    await expect(newStack(name, from, root)).rejects.toThrow(ScaffoldError);
    await expect(newStack(name, from, root)).rejects.toThrow(message);
  });
});
