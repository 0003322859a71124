/**
 * `eventline verify` end to end: every workload each stack deploys, started from the image's
 * build with its declared environment against emulators of its own, must answer its probes,
 * handle its events, read only settings it was given, and stop cleanly. And verify must fail,
 * naming the workload, the problem and the fix, when a declared probe is not served or a
 * setting the workload reads is not declared.
 */
import { describe, expect, it } from "vitest";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { formatReport } from "../../tools/verify/report";
import { verify, type VerifyReport } from "../../tools/verify/verify";
import type { Workload } from "../../tools/verify/workloads";
import { runCli } from "../cli/run-cli";

const stacks = ["dev", "prod"] as const;

function change(
  name: string,
  edit: (workload: Workload) => Workload,
): (workloads: Workload[]) => Workload[] {
  return (workloads) =>
    workloads.map((workload) => (workload.name === name ? edit(workload) : workload));
}

function problemsOf(report: VerifyReport, name: string): string[] {
  return report.workloads
    .find((workload) => workload.name === name)!
    .problems.map(({ problem, fix }) => `${problem} Fix: ${fix}`);
}

describe.each(stacks)("verify --stack %s", { timeout: 600_000 }, (stack) => {
  it("starts every workload the stack deploys as declared, and each answers its probes, handles its events and stops cleanly", async () => {
    const resolved = resolveSystem(system, stack);
    const report = await verify({ stack });
    const text = formatReport(report);
    expect(report.ok, text).toBe(true);
    const ran = report.workloads.filter((workload) => workload.skipped === undefined);
    // Every consumer, the gateway and the tracker: nothing the program deploys from this image is left out.
    expect(ran.map((workload) => workload.name).sort()).toEqual(
      [...resolved.consumers.map((consumer) => consumer.name), "gateway", "tracker"].sort(),
    );
    for (const workload of ran) {
      expect(workload.probes.length, workload.name).toBeGreaterThanOrEqual(2);
      const consumer = resolved.consumers.find((c) => c.name === workload.name);
      if (consumer !== undefined)
        expect(
          workload.checks.map((check) => check.what),
          workload.name,
        ).toEqual(consumer.contract.accepts);
      expect(workload.stop, workload.name).toMatchObject({ code: 0, killed: false });
    }
    expect(
      report.workloads
        .filter((workload) => workload.skipped !== undefined)
        .map((workload) => workload.name),
    ).toEqual(["custom-metrics-stackdriver-adapter"]);
    expect(text).toContain(`All ${ran.length} workloads started as declared`);
  });
});

describe("verify, on a workload broken on purpose", { timeout: 300_000 }, () => {
  it("fails when a declared probe is not served, naming the workload, the probe and the fix", async () => {
    const report = await verify({
      stack: "dev",
      only: ["gateway"],
      mutate: change("gateway", (workload) => ({
        ...workload,
        probes: workload.probes.map((probe) =>
          probe.kind === "startup"
            ? { ...probe, path: "/ready", periodSeconds: 1, failureThreshold: 3 }
            : probe,
        ),
      })),
    });
    expect(report.ok).toBe(false);
    expect(problemsOf(report, "gateway")).toContainEqual(
      expect.stringMatching(
        /^its startup probe GET \/ready did not pass within 3 s: .*404.* Fix: serve \/ready on the container port, or fix the probe in the program$/,
      ),
    );
  });

  it("fails when a workload reads a setting the declaration does not give it, and the workload never becomes ready", async () => {
    const report = await verify({
      stack: "dev",
      only: ["email-worker"],
      mutate: change("email-worker", (workload) => ({
        ...workload,
        env: Object.fromEntries(
          Object.entries(workload.env).filter(([name]) => name !== "EVENTLINE_CARD_BASE_URL"),
        ),
      })),
    });
    expect(report.ok).toBe(false);
    const problems = problemsOf(report, "email-worker");
    expect(problems).toContainEqual(
      "reads EVENTLINE_CARD_BASE_URL, which the declaration does not give it Fix: pulumi config set eventline:cardBaseUrl <value>, and have the program pass it (infra/workload-settings.ts)",
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^its readiness probe GET \/readyz did not pass within 10 s: .*exited with code 2/,
      ),
    );
    expect(report.workloads.find((workload) => workload.name === "email-worker")!.checks).toEqual(
      [],
    );
  });

  it("fails when a workload is given a setting the image never reads", async () => {
    const report = await verify({
      stack: "dev",
      only: ["router"],
      mutate: change("router", (workload) => ({
        ...workload,
        env: { ...workload.env, EVENTLINE_SMTP_HOST: "smtp.example.com" },
      })),
    });
    expect(problemsOf(report, "router")).toEqual([
      "is given EVENTLINE_SMTP_HOST, which the image never reads Fix: remove it, or add it to infra/model/settings.ts if the image should read it",
    ]);
  });

  it("fails when an archiver is given the state database too, which it never reads: each workload gets exactly the database it uses", async () => {
    const report = await verify({
      stack: "dev",
      only: ["users-archiver"],
      mutate: change("users-archiver", (workload) => ({
        ...workload,
        env: { ...workload.env, FIRESTORE_STATE_DATABASE: "eventline" },
      })),
    });
    expect(problemsOf(report, "users-archiver")).toEqual([
      "is given FIRESTORE_STATE_DATABASE, which it never reads Fix: give each workload only the settings it uses (infra/index.ts and its components)",
    ]);
    // What it does use, the event store, is where its event landed.
    expect(report.workloads.find((w) => w.name === "users-archiver")!.checks).toEqual(
      expect.arrayContaining([expect.objectContaining({ passed: true })]),
    );
  });

  it("refuses a workload the stack does not deploy, naming those it does", async () => {
    const run = await runCli(["verify", "--stack", "dev", "--only", "gatewy"], {
      timeoutMs: 120_000,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "eventline: no workload named gatewy in stack dev; did you mean gateway? Its workloads: ",
    );
    const listed = /Its workloads: (.*)/.exec(run.stderr)![1]!.split(", ");
    expect(listed).toEqual(expect.arrayContaining(["gateway", "tracker", "email-worker"]));
  });
});
