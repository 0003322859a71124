/**
 * Data roles are granted where the data is, never on the project (issue #21): a Pub/Sub role on the project
 * lets its holder publish to, or pull from, every topic and subscription of the system, and a Firestore role on
 * the project lets a consumer rewrite the event store or delete another consumer's processed records. Pub/Sub
 * roles belong on the topic or subscription; Firestore has no IAM policy per database, so a Firestore role is
 * granted on the project with an IAM condition that names one database
 * (`resource.name == "projects/<project>/databases/<database>"`, infra/gcp/firestore-access.ts).
 *
 * The rule looks at the role, not the member: during a preview the email of an account this stack creates is
 * not known yet, so "a handler's account" cannot be told apart, and the program has no reason to grant these
 * roles project-wide to anyone. A member that must hold one (an operator group, say) is listed in the stack's
 * policy config, `allowedMembers`.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { databaseOfCondition } from "../infra/model/databases";
import { grantsOf, iamShape } from "./iam";
import { forTypes, known, settingsSchema, type RuleLevel } from "./rule";

/** IAM resources on a project, folder or organization: grants that reach every resource under them. */
export function isHierarchyIam(type: string): boolean {
  return (
    iamShape(type) !== undefined &&
    /^gcp:(projects|folder|organizations)\/iAM(Member|Binding|Policy):/.test(type)
  );
}

export interface IamDataRoleScopeSettings {
  /** Members that may hold a Pub/Sub or Firestore role on the whole project. Default none. */
  allowedMembers: string[];
}

const PUBSUB_ROLE = /^roles\/pubsub\./;
const FIRESTORE_ROLE = /^roles\/datastore\./;

export function iamDataRoleScope(
  level: RuleLevel,
  defaults: IamDataRoleScopeSettings = { allowedMembers: [] },
): ResourceValidationPolicy {
  return {
    name: "iam-data-roles-scoped",
    description:
      "No Pub/Sub role (roles/pubsub.*) is granted on a project, folder or organization, and a Firestore role " +
      '(roles/datastore.*) only with an IAM condition naming one database (resource.name == "projects/<p>/' +
      'databases/<d>"), so no account can touch topics, subscriptions or databases it was not given. Fix: grant ' +
      "Pub/Sub roles on the topic or subscription (TopicIAMMember, SubscriptionIAMMember), and Firestore roles " +
      "with the database condition (infra/gcp/firestore-access.ts); or list a member that must hold one in the " +
      "stack's policy config allowedMembers.",
    enforcementLevel: level,
    configSchema: settingsSchema(defaults, {
      allowedMembers: { type: "array", items: { type: "string" } },
    }),
    validateResource: forTypes<Parameters<typeof grantsOf>[1] & { project?: string }>(
      isHierarchyIam,
      (props, args, report) => {
        const { allowedMembers } = args.getConfig<IamDataRoleScopeSettings>();
        const where = known(() => props.project) ?? "the project";
        for (const grant of grantsOf(args.type, props)) {
          if (allowedMembers.includes(grant.member)) continue;
          if (PUBSUB_ROLE.test(grant.role)) {
            report(
              `${grant.role} is granted to ${grant.member} on ${where}: grant it on the topic or subscription instead.`,
            );
          } else if (FIRESTORE_ROLE.test(grant.role)) {
            // A condition whose expression is not known yet is this stack's own: it cannot be judged in a preview.
            if (grant.condition !== undefined && grant.condition.expression === undefined) continue;
            if (databaseOfCondition(grant.condition?.expression) !== undefined) continue;
            report(
              `${grant.role} is granted to ${grant.member} on ${where} ${
                grant.condition === undefined
                  ? "without a condition"
                  : `with the condition "${grant.condition.expression}", which names no one database`
              }: it reaches every Firestore database of the project.`,
            );
          }
        }
      },
    ),
  };
}
