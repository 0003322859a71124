/**
 * What keeps CI from leaking prod, checked on the files themselves: every action and base image
 * pinned to an immutable digest, no install scripts in CI, every secret held by a GitHub
 * environment, and pull requests never given the token that updates stacks.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planDockerfile } from "../../tools/verify/dockerfile";

const yaml = createRequire(__filename)("js-yaml") as { load(text: string): unknown };

const REPO = join(__dirname, "..", "..");
const WORKFLOWS = join(REPO, ".github", "workflows");

const workflows = readdirSync(WORKFLOWS)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => {
    const text = readFileSync(join(WORKFLOWS, name), "utf8");
    return { name, text, parsed: yaml.load(text) as Workflow };
  });

interface Step {
  uses?: string;
  run?: string;
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
