/**
 * The access matrix (`eventline catalog --format access`) of each stack, read from the program
 * evaluated under mocks: what every account may touch, stated as the trust split of issue #21.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Evaluation, evaluateProgram } from "../../infra/evaluate";
import { accountId } from "../../infra/gcp/platform";
import { TRACE_WRITER_ROLE } from "../../infra/gcp/trace-access";
import { REPLAY_TOOL_DATABASES } from "../../infra/model/databases";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import {
  accessMarkdown,
  accessMatrix,
  type AccessMatrix,
  grantsOf,
  memberName,
} from "../../tools/catalog/access";
import { runCli } from "../cli/run-cli";

describe.each(["dev", "prod"])("the %s stack's access matrix", (stack) => {
  let evaluation: Evaluation;
  let matrix: AccessMatrix;
  const resolved = resolveSystem(system, stack);
  const accountOf = (consumer: (typeof resolved.consumers)[number]) =>
    accountId(consumer.delivery === "push" ? "run" : "wrk", consumer.name);
  const handlerAccounts = new Set(resolved.consumers.map(accountOf));
  const firestore = (account: string) =>
    grantsOf(matrix, account).filter((grant) => grant.role.startsWith("roles/datastore."));

  beforeAll(async () => {
    evaluation = await evaluateProgram({ stack });
    matrix = accessMatrix(evaluation);
  });

  it("lists every IAM member grant the program makes, once", () => {
    const iamMembers = evaluation.resources.filter(
      (resource) =>
        /IAMMember|IamMember/.test(resource.type) && typeof resource.inputs["member"] === "string",
    );
    expect(matrix.grants).toHaveLength(iamMembers.length);
    expect(matrix.grants.length).toBeGreaterThan(200);
  });

  it("grants no account a Firestore or Pub/Sub role on the whole project", () => {
    const projectWide = matrix.grants.filter(
      (grant) =>
        grant.kind === "project" &&
        (grant.role.startsWith("roles/datastore.") || grant.role.startsWith("roles/pubsub.")),
    );
    expect(projectWide).toEqual([]);
  });

  it("lets the archivers alone write the event store, each topic's own archiver", () => {
    const writers = matrix.grants
      .filter(
        (grant) =>
          grant.kind === "database" &&
          grant.resource === "eventline-events" &&
          grant.role !== "roles/datastore.viewer",
      )
      .map((grant) => grant.account)
      .sort();
    expect(writers).toEqual(
      resolved.topics.map((topic) => accountId("wrk", `${topic.name}-archiver`)).sort(),
    );
    for (const grant of matrix.grants.filter((g) => g.resource === "eventline-events"))
      expect(["roles/datastore.user", "roles/datastore.viewer"]).toContain(grant.role);
  });

  it("gives every consumer exactly one database: the event store to an archiver, the state database to any other", () => {
    for (const consumer of resolved.consumers)
      expect(firestore(accountOf(consumer)), consumer.name).toEqual([
        {
          account: accountOf(consumer),
          kind: "database",
          resource: consumer.builtIn ? "eventline-events" : "eventline",
          role: "roles/datastore.user",
        },
      ]);
    const stateUsers = matrix.grants
      .filter((grant) => grant.resource === "eventline" && grant.kind === "database")
      .map((grant) => grant.account);
    expect(stateUsers.every((account) => handlerAccounts.has(account))).toBe(true);
  });

  it("gives the gateway, the tracker, the producers and the push identities no Firestore access, as none of them reads a database", () => {
    const others = new Set(
      matrix.grants.map((grant) => grant.account).filter((a) => /^(svc|prd|push)-/.test(a)),
    );
    expect(others).toContain("svc-gateway");
    expect(others).toContain("svc-tracker");
    for (const account of others) expect(firestore(account), account).toEqual([]);
    expect(
      grantsOf(matrix, "svc-gateway").every(
        (g) => g.role === "roles/pubsub.publisher" || g.role === TRACE_WRITER_ROLE,
      ),
    ).toBe(true);
  });

  it("lets every workload, and only the workloads, write spans to Cloud Trace", () => {
    const writers = new Set(
      matrix.grants.filter((grant) => grant.role === TRACE_WRITER_ROLE).map((g) => g.account),
    );
    expect([...writers].sort()).toEqual(
      [...handlerAccounts, accountId("svc", "gateway"), accountId("svc", "tracker")].sort(),
    );
    for (const grant of matrix.grants.filter((g) => g.role === TRACE_WRITER_ROLE))
      expect(grant.kind).toBe("project");
  });

  it("tells every workload to send its spans to Cloud Trace at the stack's sampling ratio", () => {
    const environments = evaluation.resources.flatMap((resource) => {
      const text = JSON.stringify(resource.inputs);
      return text.includes('"MODE"') ? [text] : [];
    });
    expect(environments.length).toBeGreaterThan(resolved.consumers.length);
    for (const text of environments) {
      expect(text).toMatch(/"EVENTLINE_TRACE_EXPORT"(,"value":|:)"cloud-trace"/);
      expect(text).toMatch(/"EVENTLINE_TRACE_SAMPLE_RATIO"(,"value":|:)"0\.1"/);
    }
  });

  it("lets the replay account read the event store and write only the replay tools' databases", () => {
    expect(grantsOf(matrix, "ops-replay")).toEqual(
      [
        {
          account: "ops-replay",
          kind: "database",
          resource: "eventline-events",
          role: "roles/datastore.viewer",
        },
        ...REPLAY_TOOL_DATABASES.map((resource) => ({
          account: "ops-replay",
          kind: "database",
          resource,
          role: "roles/datastore.user",
        })),
      ].sort((a, b) => a.resource.localeCompare(b.resource)),
    );
    expect(evaluation.outputs["replayAccount"]).toBe(
      `ops-replay@eventline-${stack}.iam.gserviceaccount.com`,
    );
  });

  it("keeps secrets to the consumers that send through them: in prod the senders and the hooks, in dev the hooks", () => {
    const readers = new Set(
      matrix.grants.filter((grant) => grant.kind === "secret").map((grant) => grant.account),
    );
    const senders = resolved.consumers.filter(
      (c) =>
        c.contract.uses.includes("hooks") ||
        (stack !== "dev" &&
          (c.contract.uses.includes("smtp") || c.contract.uses.includes("messaging"))),
    );
    expect([...readers].sort()).toEqual(
      senders
        .flatMap((c) =>
          c.delivery === "push" ? [accountOf(c)] : [accountOf(c), `k8s:eventline/${c.name}`],
        )
        .sort(),
    );
    expect(senders.some((c) => c.hook !== undefined)).toBe(true);
  });

  it("renders one Markdown row per grant, and names what each account is", () => {
    const markdown = accessMarkdown(matrix);
    expect(markdown).toContain("| Account | On | Resource | Role |");
    expect(markdown).toContain(
      "| wrk-users-archiver | database | `eventline-events` | `roles/datastore.user` |",
    );
    expect(markdown).toContain(`| ops-replay | Eventline replay and backtest (${stack}) |`);
    expect(markdown.split("\n").filter((line) => line.startsWith("| ")).length).toBe(
      // Each table's rows, with its header and separator.
      matrix.grants.length + 2 + Object.keys(matrix.accounts).length + 2,
    );
  });
});

describe("the access matrix's names", () => {
  it.each([
    ["serviceAccount:run-router@p.iam.gserviceaccount.com", "run-router"],
    ["serviceAccount:service-1@gcp-sa-pubsub.iam.gserviceaccount.com", "Pub/Sub service agent"],
    ["serviceAccount:p.svc.id.goog[eventline/email-worker]", "k8s:eventline/email-worker"],
    [
      "principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/subject/ns/custom-metrics/sa/adapter",
      "k8s:custom-metrics/adapter",
    ],
    ["allUsers", "allUsers"],
  ])("names %s %s", (member, name) => {
    expect(memberName(member)).toBe(name);
  });
});

describe("eventline catalog --format access", () => {
  it("prints the stack's matrix", async () => {
    const { code, stdout } = await runCli(["catalog", "--format", "access", "--stack", "dev"], {
      timeoutMs: 60_000,
    });
    expect(code).toBe(0);
    expect(stdout).toContain("# Access matrix of the dev stack");
    expect(stdout).toContain(
      "| ops-replay | database | `eventline-events` | `roles/datastore.viewer` |",
    );
  }, 60_000);

  it("asks for a stack the program deploys", async () => {
    const { code, stderr } = await runCli(["catalog", "--format", "access"]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      "eventline: --format access reads what the program grants for a stack the program deploys: add --stack dev (or prod, …)\n",
    );
  });
});
