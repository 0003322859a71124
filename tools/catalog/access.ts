/**
 * The access matrix (`eventline catalog --format access`, issue #21): every IAM grant a stack's
 * program makes, as account × resource × role, where a resource is a Firestore database, a
 * topic, a subscription, a secret, a Cloud Run service, a service account, the image
 * repository or the project. It is read from the IAM resources of the program evaluated under
 * mocks (infra/evaluate.ts), not from a list kept beside it, so it shows what `pulumi up` would
 * grant and cannot drift from it. Firestore roles are granted on the project with a condition
 * naming one database (infra/gcp/firestore-access.ts); the matrix shows such a grant as on that
 * database, and one without such a condition as on the whole project.
 */
import type { Evaluation, RecordedResource } from "../../infra/evaluate";
import { databaseOfCondition } from "../../infra/model/databases";

/** What a grant is on. */
export type ResourceKind =
  | "database"
  | "topic"
  | "subscription"
  | "secret"
  | "service"
  | "service account"
  | "repository"
  | "project";

/** One member holding one role on one resource. */
export interface AccessGrant {
  /** Who: a service account by its id (`run-email-sender`), a Kubernetes identity (`k8s:<ns>/<sa>`), a Google agent, or allUsers. */
  account: string;
  kind: ResourceKind;
  /** The resource's short name: a database id, topic, subscription, secret id, service, account id, repository, or project id. */
  resource: string;
  role: string;
}

/** The matrix and what each account of the stack is for. */
export interface AccessMatrix {
  stack: string;
  grants: AccessGrant[];
  /** Service accounts the program creates: id → display name. */
  accounts: Record<string, string>;
}

type Inputs = Record<string, unknown>;

/** The kind of resource an IAM member type grants on, by its type token. */
const grantTypes: Record<string, (inputs: Inputs) => [ResourceKind, string]> = {
  "gcp:projects/iAMMember:IAMMember": (inputs) => {
    const condition = inputs["condition"] as { expression?: string } | undefined;
    const database = databaseOfCondition(condition?.expression);
    return database !== undefined ? ["database", database] : ["project", String(inputs["project"])];
  },
  "gcp:pubsub/topicIAMMember:TopicIAMMember": (inputs) => ["topic", shortName(inputs["topic"])],
  "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": (inputs) => [
    "subscription",
    shortName(inputs["subscription"]),
  ],
  "gcp:secretmanager/secretIamMember:SecretIamMember": (inputs) => [
    "secret",
    shortName(inputs["secretId"]),
  ],
  "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": (inputs) => [
    "service",
    shortName(inputs["name"]),
  ],
  "gcp:serviceaccount/iAMMember:IAMMember": (inputs) => [
    "service account",
    accountName(shortName(inputs["serviceAccountId"])),
  ],
  "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": (inputs) => [
    "repository",
    shortName(inputs["repository"]),
  ],
};

/** `projects/p/topics/orders` and `orders` both give `orders`. */
function shortName(reference: unknown): string {
  const text = String(reference);
  return text.slice(text.lastIndexOf("/") + 1);
}

/** A service account's id from its email; other strings as they are. */
function accountName(email: string): string {
  const at = email.indexOf("@");
  return at < 0 ? email : email.slice(0, at);
}

/** A member as the matrix names it. */
export function memberName(member: string): string {
  // A Kubernetes service account allowed to act as a Google one: `<project>.svc.id.goog[<ns>/<sa>]`.
  const impersonator = /^serviceAccount:[^[]+\.svc\.id\.goog\[([^/\]]+)\/([^\]]+)\]$/.exec(member);
  if (impersonator !== null) return `k8s:${impersonator[1]}/${impersonator[2]}`;
  if (member.startsWith("serviceAccount:")) {
    const email = member.slice("serviceAccount:".length);
    if (/@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/.test(email)) return "Pub/Sub service agent";
    return accountName(email);
  }
  // A Kubernetes service account through Workload Identity, named directly.
  const workload = /\/subject\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(member);
  if (workload !== null) return `k8s:${workload[1]}/${workload[2]}`;
  return member;
}

/** Every IAM grant of `evaluation`, sorted by account, kind, resource and role. */
export function accessMatrix(evaluation: Evaluation): AccessMatrix {
  const grants = evaluation.resources.flatMap((resource: RecordedResource) => {
    const on = grantTypes[resource.type];
    const { member, role } = resource.inputs as { member?: unknown; role?: unknown };
    if (on === undefined || typeof member !== "string" || typeof role !== "string") return [];
    const [kind, name] = on(resource.inputs);
    return [{ account: memberName(member), kind, resource: name, role }];
  });
  grants.sort(
    (a, b) =>
      a.account.localeCompare(b.account) ||
      a.kind.localeCompare(b.kind) ||
      a.resource.localeCompare(b.resource) ||
      a.role.localeCompare(b.role),
  );
  const accounts = Object.fromEntries(
    evaluation.resources
      .filter((resource) => resource.type === "gcp:serviceaccount/account:Account")
      .map((resource) => [
        String(resource.inputs["accountId"]),
        String(resource.inputs["displayName"] ?? ""),
      ])
      .sort(([a], [b]) => a!.localeCompare(b!)),
  );
  return { stack: evaluation.stack, grants, accounts };
}

/** The grants `account` holds. */
export function grantsOf(matrix: AccessMatrix, account: string): AccessGrant[] {
  return matrix.grants.filter((grant) => grant.account === account);
}

/** The matrix as Markdown: the grants, then what each account is. */
export function accessMarkdown(matrix: AccessMatrix): string {
  const lines = [
    `# Access matrix of the ${matrix.stack} stack`,
    "",
    "Every IAM grant the program makes, read from the program evaluated for the stack " +
      "(`eventline catalog --format access --stack " +
      matrix.stack +
      "`). A Firestore role shown on a database is granted on the project with an IAM " +
      "condition naming that database.",
    "",
    "| Account | On | Resource | Role |",
    "| --- | --- | --- | --- |",
    ...matrix.grants.map(
      (grant) => `| ${grant.account} | ${grant.kind} | \`${grant.resource}\` | \`${grant.role}\` |`,
    ),
    "",
    "| Account | What it is |",
    "| --- | --- |",
    ...Object.entries(matrix.accounts).map(([id, what]) => `| ${id} | ${what} |`),
    "",
  ];
  return lines.join("\n");
}
