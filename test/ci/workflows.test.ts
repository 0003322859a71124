/**
 * What keeps CI from leaking prod, checked on the files themselves: every action and base image
 * pinned to an immutable digest, no install scripts in CI, every secret held by a GitHub
 * environment, and pull requests never given the token that updates stacks.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { readPackConfig, resolveSettings } from "../../policies/config";
import { packEnforcementLevel, policies } from "../../policies/pack";
import { planDockerfile } from "../../tools/verify/dockerfile";

const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

const REPO = join(__dirname, "..", "..");
/** GitHub's runners have jq; a machine without it skips the test that runs a jq script. */
const hasJq = spawnSync("jq", ["--version"]).status === 0;
const WORKFLOWS = join(REPO, ".github", "workflows");

const workflows = readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => {
    const text = readFileSync(join(WORKFLOWS, name), "utf8");
    return { name, text, parsed: yaml.load(text) as Workflow };
  });

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  environment?: string | { name: string };
  uses?: string;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown> | string | string[];
  jobs: Record<string, Job>;
}

/** The names of the secrets a job reads, GITHUB_TOKEN (the job's own token) aside. */
function secretsRead(job: Job): string[] {
  const names = [...JSON.stringify(job).matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map(
    (match) => match[1]!,
  );
  return [...new Set(names)].filter((name) => name !== "GITHUB_TOKEN");
}

function triggers(workflow: Workflow): string[] {
  const on = workflow.on;
  return typeof on === "string" ? [on] : Array.isArray(on) ? on : Object.keys(on);
}

describe(".github/workflows", () => {
  it("has workflows to check", () => {
    expect(workflows.map((workflow) => workflow.name)).toContain("infra-preview.yml");
  });

  it("pins every action by full commit SHA, with its version in a comment", () => {
    const unpinned: string[] = [];
    for (const { name, text } of workflows) {
      text.split("\n").forEach((line, index) => {
        const match = /^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?(.*)$/.exec(line);
        if (match === null) return;
        const [, reference, rest] = match;
        // A workflow of this repository, at the same commit as the caller.
        if (reference!.startsWith("./")) return;
        const pinned =
          /^[\w.-]+\/[\w.-]+(?:\/[^@\s]+)?@[0-9a-f]{40}$/.test(reference!) &&
          /^\s+#\s*v\d+(?:\.\d+)*\b/.test(rest!);
        if (!pinned) unpinned.push(`${name}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(unpinned, "write uses: owner/repo@<40-hex commit> # vX.Y.Z").toEqual([]);
  });

  it("installs dependencies without their install scripts", () => {
    const withScripts = workflows.flatMap(({ name, parsed }) =>
      Object.entries(parsed.jobs).flatMap(([jobName, job]) =>
        (job.steps ?? [])
          .filter((step) => /\bnpm (?:ci|install|i)\b/.test(step.run ?? ""))
          .filter((step) => !step.run!.includes("--ignore-scripts"))
          .map((step) => `${name} ${jobName}: ${step.run}`),
      ),
    );
    expect(withScripts).toEqual([]);
  });

  it("reads secrets only in jobs that run in a GitHub environment", () => {
    const outside = workflows.flatMap(({ name, parsed }) =>
      Object.entries(parsed.jobs)
        // A call passes secrets on to the called workflow, whose jobs are checked themselves.
        .filter(([, job]) => job.uses === undefined && job.environment === undefined)
        .filter(([, job]) => secretsRead(job).length > 0)
        .map(([jobName, job]) => `${name} ${jobName}: ${secretsRead(job).join(", ")}`),
    );
    expect(outside, "hold these as environment secrets and give the job its environment").toEqual(
      [],
    );
  });

  it("never gives pull requests the token that updates stacks", () => {
    for (const { name, parsed } of workflows.filter(({ parsed }) =>
      triggers(parsed).some((trigger) => trigger.startsWith("pull_request")),
    )) {
      for (const [jobName, job] of Object.entries(parsed.jobs))
        expect(secretsRead(job), `${name} ${jobName}`).not.toContain("PULUMI_ACCESS_TOKEN");
    }
  });

  it("previews prod only from this repository's branches, behind the prod-preview environment", () => {
    const preview = workflows.find((workflow) => workflow.name === "infra-preview.yml")!;
    const job = preview.parsed.jobs.preview!;
    expect(job.environment).toBe("${{ matrix.stack }}-preview");
    expect((job as { if?: string }).if).toContain(
      "github.event.pull_request.head.repo.full_name == github.repository",
    );
    expect(secretsRead(job)).toEqual(["PULUMI_PREVIEW_TOKEN"]);
  });
});

describe("the preview workflow's plan", () => {
  const steps = workflows.find((w) => w.name === "infra-preview.yml")!.parsed.jobs.preview!.steps!;
  const index = (predicate: (step: Step) => boolean): number => {
    const found = steps.findIndex(predicate);
    expect(found).toBeGreaterThanOrEqual(0);
    return found;
  };
  const deployed = index((step) => /pulumi stack output declaration --json/.test(step.run ?? ""));
  const plan = index((step) => /npx eventline plan --stack "\$STACK"/.test(step.run ?? ""));
  const post = index((step) => /gh api .*issues\/\$PR\/comments/.test(step.run ?? ""));
  const preview = index((step) => step.with?.["command"] === "preview");
  const refuse = index((step) => step.if === "steps.plan.outputs.status == '2'");

  it("plans against the stack's deployed declaration output, with the read-only token", () => {
    expect(steps[deployed]!.env?.["PULUMI_ACCESS_TOKEN"]).toBe(
      "${{ secrets.PULUMI_PREVIEW_TOKEN }}",
    );
    expect(steps[plan]!.run).toContain('--deployed "$DEPLOYED"');
    expect(steps[plan]!.env?.["DEPLOYED"]).toBe(
      `\${{ steps.${steps[deployed]!.id}.outputs.file }}`,
    );
    // Only a missing output means "nothing deployed"; any other failure to read it fails the job.
    expect(steps[deployed]!.run).toContain("does not have output property");
    expect(steps[deployed]!.run).toContain("exit 1");
  });

  it("posts the plan beside the preview, and fails on a refusal only after both are posted", () => {
    expect(deployed).toBeLessThan(plan);
    expect(plan).toBeLessThan(post);
    expect(post).toBeLessThan(refuse);
    expect(preview).toBeLessThan(refuse);
    expect(steps[refuse]!.run).toContain("exit 1");
    expect(steps[plan]!.id).toBe("plan");
  });

  const policyConfig = index((step) => step.id === "policy-config");

  it("gives the policy pack the deployed declaration as the replace guard's setting", () => {
    expect(steps[preview]!.with?.["policyPackConfigs"]).toBe(
      "${{ steps.policy-config.outputs.file }}",
    );
    expect(deployed).toBeLessThan(policyConfig);
    expect(policyConfig).toBeLessThan(preview);
  });

  it.runIf(hasJq)(
    "merges it into the stack's pack config so that the pack accepts it (the step's own script, run here)",
    () => {
      const temp = mkdtempSync(join(tmpdir(), "eventline-workflow-"));
      try {
        const record = declarationOf(resolveSystem(system, "dev"));
        writeFileSync(join(temp, "deployed.json"), JSON.stringify(record));
        const output = join(temp, "output");
        for (const deployedFile of [join(temp, "deployed.json"), ""]) {
          writeFileSync(output, "");
          execFileSync("bash", ["-euo", "pipefail", "-c", steps[policyConfig]!.run!], {
            cwd: REPO,
            env: {
              ...process.env,
              STACK: "dev",
              DEPLOYED: deployedFile,
              RUNNER_TEMP: temp,
              GITHUB_OUTPUT: output,
            },
          });
          const file = /^file=(.+)$/m.exec(readFileSync(output, "utf8"))![1]!;
          const config = readPackConfig(file);
          const settings = resolveSettings(policies, config, packEnforcementLevel);
          expect(settings.get("pubsub-subscription-replace")?.properties["deployed"]).toEqual(
            deployedFile === "" ? null : record,
          );
          // The stack's own settings are kept.
          expect(config).toMatchObject(
            readPackConfig(join(REPO, "policies", "config", "dev.json")),
          );
        }
      } finally {
        rmSync(temp, { recursive: true, force: true });
      }
    },
  );

  it("passes values to scripts through the environment, never by expanding expressions into them", () => {
    for (const step of [deployed, policyConfig, plan, post, refuse].map((i) => steps[i]!))
      expect(step.run, step.name).not.toContain("${{");
  });
});

describe(".ci/run", () => {
  it("installs dependencies without their install scripts", () => {
    const script = readFileSync(join(REPO, ".ci", "run"), "utf8");
    const installs = script.split("\n").filter((line) => /^\s*npm (?:ci|install|i)\b/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    for (const line of installs) expect(line).toContain("--ignore-scripts");
  });
});

describe("handlers/Dockerfile", () => {
  it("pins every base image by digest", () => {
    const file = join(REPO, "handlers", "Dockerfile");
    const text = readFileSync(file, "utf8");
    const images = planDockerfile(text, "handlers/Dockerfile").stages.flatMap((stage) =>
      "image" in stage.base ? [stage.base.image] : [],
    );
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/^[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}$/);
    // The syntax frontend is an image BuildKit pulls and runs too.
    const syntax = /^#\s*syntax=(\S+)/.exec(text)?.[1];
    if (syntax !== undefined) expect(syntax).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it("prices the pull request without secrets, and comments without running its code", () => {
    const preview = workflows.find((workflow) => workflow.name === "infra-preview.yml")!;
    const cost = preview.parsed.jobs["cost"] as Job & { permissions?: Record<string, string> };
    const comment = preview.parsed.jobs["cost-comment"] as Job & {
      permissions?: Record<string, string>;
      needs?: string;
    };
    expect(cost.permissions).toEqual({ contents: "read" });
    expect(secretsRead(cost)).toEqual([]);
    expect(JSON.stringify(cost.steps)).toContain("eventline cost --stack");
    expect(JSON.stringify(cost.steps)).toContain("--baseline");
    expect(comment.needs).toBe("cost");
    expect(comment.permissions).toEqual({ "pull-requests": "write" });
    expect((comment.steps ?? []).some((step) => step.uses?.startsWith("actions/checkout"))).toBe(
      false,
    );
    expect(JSON.stringify(comment.steps)).not.toMatch(/npm|npx|node /);
  });
});
