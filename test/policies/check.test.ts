/**
 * The offline check's command line: run in-process through runCli (as policies/check.ts runs it), and once as CI
 * runs it, `tsx policies/check.ts` in a subprocess, for the exit code. What it finds in the real program is
 * checked in program.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { runCli } from "../../policies/cli";

const root = join(__dirname, "..", "..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function check(...args: string[]): Promise<Run> {
  const run = { code: -1, stdout: "", stderr: "" };
  run.code = await runCli(args, {
    stdout: (text) => (run.stdout += text),
    stderr: (text) => (run.stderr += text),
  });
  return run;
}

const badProgram = ["--stack", "dev", "--program", "test/fixtures/policy-violations.ts"];

interface JsonViolation {
  policy: string;
  level: string;
  resource: { type: string; name: string } | null;
  detail: string;
}

const summary = (run: Run): string[] =>
  (JSON.parse(run.stdout) as { violations: JsonViolation[] }).violations
    .map(
      (v) =>
        `[${v.level}] ${v.policy} on ${v.resource === null ? "the stack" : `${v.resource.type} ${v.resource.name}`}: ${v.detail}`,
    )
    .sort();

describe("npm run policy (the offline check)", () => {
  it("reports exactly the deliberately bad program's three violations and exits 1", async () => {
    const run = await check(...badProgram, "--json");
    expect(run.stderr).toBe("");
    expect(summary(run)).toEqual([
      "[mandatory] cloudrun-no-public-invoker on gcp:cloudrunv2/serviceIamMember:ServiceIamMember orders-api-public: roles/run.invoker is granted to allUsers on orders-api, which the declaration does not make public.",
      '[mandatory] k8s-container-resources on kubernetes:apps/v1:Deployment orders-worker: container "handler" has no limits.cpu, limits.memory.',
      "[mandatory] pubsub-subscription-dead-letter on gcp:pubsub/subscription:Subscription orders-worker: deadLetterPolicy is not set.",
    ]);
    expect(run.code).toBe(1);
  }, 30_000);

  it("exits 0 when a config leaves no mandatory violation, and prints them by resource with their level", async () => {
    const run = await check(
      ...badProgram,
      "--config",
      "test/fixtures/policy-violations-waived.json",
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Policies: eventline@v0\.1\.0, stack dev, 8 resources\n/);
    expect(run.stdout).toContain(
      "gcp:cloudrunv2/serviceIamMember:ServiceIamMember  orders-api-public\n",
    );
    expect(run.stdout).toContain("    - [advisory]  cloudrun-no-public-invoker\n");
    expect(run.stdout).toContain(
      "      roles/run.invoker is granted to allUsers on orders-api, which the declaration does not make public.\n",
    );
    expect(run.stdout).toContain("    - [advisory]  pubsub-subscription-dead-letter\n");
    expect(run.stdout).not.toContain("k8s-container-resources");
    expect(run.stdout).toMatch(/\n2 violations: 0 mandatory, 2 advisory\.\n$/);
  }, 30_000);

  describe("with the stack's deployed declaration (--deployed)", () => {
    const dir = mkdtempSync(join(tmpdir(), "eventline-policy-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const deployedFile = (content: string): string => {
      const file = join(dir, `deployed-${content.length}.json`);
      writeFileSync(file, content);
      return file;
    };

    it("refuses a subscription whose deployed filter differs from the program's, and exits 1", async () => {
      const deployed = declarationOf(resolveSystem(system, "dev"));
      const changed = deployed.subscriptions.find((s) => s.filter !== undefined)!;
      changed.filter = 'attributes.ce-type = "com.example.before"';
      const run = await check(
        "--stack",
        "dev",
        "--deployed",
        deployedFile(JSON.stringify(deployed)),
        "--json",
      );
      const replaced = summary(run).filter((line) => line.includes("pubsub-subscription-replace"));
      expect(replaced).toHaveLength(1);
      expect(replaced[0]).toContain(
        `[mandatory] pubsub-subscription-replace on gcp:pubsub/subscription:Subscription ${changed.consumer}`,
      );
      expect(replaced[0]).toContain("Guards: replace-without-migration, backlog-without-migration");
      expect(run.code).toBe(1);
    }, 30_000);

    it("rejects a file that is not a deployed declaration with exit code 2", async () => {
      const run = await check("--stack", "dev", "--deployed", deployedFile('{"version":1}'));
      expect(run.stderr).toMatch(/^policy: --deployed .*: stack is missing\n$/);
      expect(run.code).toBe(2);
    });
  });

  it("prints usage for --help and exits 0", async () => {
    const run = await check("--help");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run policy -- --stack <stack>/);
    expect(run.stdout).toContain("--stack <stack>    the stack to check: dev, prod");
  });

  it.each([
    // Node's own wording of an unknown option, which varies between Node versions.
    [
      "a bad flag",
      ["--stack", "dev", "--verbose"],
      /^policy: Unknown option '--verbose'.* \(see --help\)\n$/,
    ],
    [
      "an unknown stack",
      ["--stack", "staging"],
      /^policy: no policy config for stack "staging": policies\/config\/ has dev, prod; add policies\/config\/staging.json \(npx eventline new stack staging --from dev writes one\) or give --config <file>\n$/,
    ],
    ["no stack", [], /^policy: --stack is required: one of dev, prod\n$/],
    [
      "a config that does not fit the pack",
      ["--stack", "dev", "--config", "package.json"],
      /^policy: policy config: "name" is not a policy of this pack\n$/,
    ],
  ] as const)("rejects %s with one error line and exit code 2", async (_case, args, line) => {
    const run = await check(...args);
    expect(run.stderr).toMatch(line);
    expect(run.stdout).toBe("");
    expect(run.code).toBe(2);
  });

  it("sets the process's exit code when run as CI runs it", async () => {
    const code = await new Promise<number>((resolve) => {
      execFile(
        join(root, "node_modules", ".bin", "tsx"),
        ["policies/check.ts", ...badProgram],
        { cwd: root, timeout: 50_000 },
        (err) => {
          resolve(err === null ? 0 : typeof err.code === "number" ? err.code : -1);
        },
      );
    });
    expect(code).toBe(1);
  }, 60_000);
});
