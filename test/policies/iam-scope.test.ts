import { describe, expect, it } from "vitest";
import { iamDataRoleScope } from "../../policies/iam-scope";
import { resourceViolations } from "./harness";

const MEMBER = "gcp:projects/iAMMember:IAMMember";
const BINDING = "gcp:projects/iAMBinding:IAMBinding";
const POLICY = "gcp:projects/iAMPolicy:IAMPolicy";
const worker = "serviceAccount:wrk-email-worker@p.iam.gserviceaccount.com";
const onDatabase = (database: string) => ({
  title: `database ${database}`,
  expression: `resource.name == "projects/p/databases/${database}"`,
});
const unknownString = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const cases: [
  string,
  { type: string; inputs: Record<string, unknown>; settings?: Record<string, unknown> },
  string[],
][] = [
  [
    "a Firestore role limited to one database passes",
    {
      type: MEMBER,
      inputs: {
        project: "p",
        role: "roles/datastore.user",
        member: worker,
        condition: onDatabase("eventline"),
      },
    },
    [],
  ],
  [
    "a Firestore role on the whole project fails",
    { type: MEMBER, inputs: { project: "p", role: "roles/datastore.user", member: worker } },
    [
      `roles/datastore.user is granted to ${worker} on p without a condition: it reaches every Firestore database of the project.`,
    ],
  ],
  [
    "a Firestore role under a condition that names no database fails",
    {
      type: MEMBER,
      inputs: {
        project: "p",
        role: "roles/datastore.viewer",
        member: worker,
        condition: {
          title: "until",
          expression: "request.time < timestamp('2030-01-01T00:00:00Z')",
        },
      },
    },
    [
      `roles/datastore.viewer is granted to ${worker} on p with the condition "request.time < timestamp('2030-01-01T00:00:00Z')", which names no one database: it reaches every Firestore database of the project.`,
    ],
  ],
  [
    "a Firestore role whose condition excludes one database (and so reaches all the others) fails",
    {
      type: MEMBER,
      inputs: {
        project: "p",
        role: "roles/datastore.user",
        member: worker,
        condition: {
          title: "not events",
          expression: 'resource.name != "projects/p/databases/eventline-events"',
        },
      },
    },
    [
      `roles/datastore.user is granted to ${worker} on p with the condition "resource.name != "projects/p/databases/eventline-events"", which names no one database: it reaches every Firestore database of the project.`,
    ],
  ],
  [
    "a Firestore role whose condition is unknown in a preview (this stack's own) passes",
    {
      type: MEMBER,
      inputs: {
        project: "p",
        role: "roles/datastore.user",
        member: worker,
        condition: { title: "database", expression: unknownString },
      },
    },
    [],
  ],
  [
    "a Pub/Sub role on the project fails, even under a condition",
    {
      type: MEMBER,
      inputs: {
        project: "p",
        role: "roles/pubsub.subscriber",
        member: worker,
        condition: onDatabase("x"),
      },
    },
    [
      `roles/pubsub.subscriber is granted to ${worker} on p: grant it on the topic or subscription instead.`,
    ],
  ],
  [
    "a binding of a Pub/Sub role to several members fails for each",
    {
      type: BINDING,
      inputs: {
        project: "p",
        role: "roles/pubsub.publisher",
        members: [worker, "group:ops@example.com"],
      },
    },
    [
      `roles/pubsub.publisher is granted to ${worker} on p: grant it on the topic or subscription instead.`,
      "roles/pubsub.publisher is granted to group:ops@example.com on p: grant it on the topic or subscription instead.",
    ],
  ],
  [
    "a whole project policy with a project-wide Firestore role fails, and its database-scoped one passes",
    {
      type: POLICY,
      inputs: {
        project: "p",
        policyData: JSON.stringify({
          bindings: [
            { role: "roles/datastore.user", members: [worker], condition: onDatabase("eventline") },
            { role: "roles/datastore.owner", members: ["user:ana@example.com"] },
          ],
        }),
      },
    },
    [
      "roles/datastore.owner is granted to user:ana@example.com on p without a condition: it reaches every Firestore database of the project.",
    ],
  ],
  [
    "a project role outside Pub/Sub and Firestore passes (the nodes' role)",
    {
      type: MEMBER,
      inputs: { project: "p", role: "roles/container.defaultNodeServiceAccount", member: worker },
    },
    [],
  ],
  [
    "a Pub/Sub role on one topic is not this rule's concern",
    {
      type: "gcp:pubsub/topicIAMMember:TopicIAMMember",
      inputs: { topic: "users", role: "roles/pubsub.publisher", member: worker },
    },
    [],
  ],
  [
    "a member the stack's config allows passes",
    {
      type: MEMBER,
      inputs: { project: "p", role: "roles/pubsub.viewer", member: "group:ops@example.com" },
      settings: { allowedMembers: ["group:ops@example.com"] },
    },
    [],
  ],
  [
    "a Pub/Sub role on the organization fails too",
    {
      type: "gcp:organizations/iAMMember:IAMMember",
      inputs: { orgId: "1", role: "roles/pubsub.editor", member: worker },
    },
    [
      `roles/pubsub.editor is granted to ${worker} on the project: grant it on the topic or subscription instead.`,
    ],
  ],
];

describe("iam-data-roles-scoped", () => {
  it.each(cases)("%s", (_title, { type, inputs, settings }, reports) => {
    expect(resourceViolations(iamDataRoleScope("mandatory"), { type, inputs }, settings)).toEqual(
      reports,
    );
  });
});
