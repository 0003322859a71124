/**
 * IAM grants as the GCP provider declares them: one member (`*IamMember`), one role for a list of members
 * (`*IamBinding`), or a whole policy document (`*IamPolicy`, its `policyData` a JSON string). Rules read all three
 * shapes through {@link grantsOf}, so a grant cannot slip past a rule by changing shape.
 */
import { known } from "./rule";

/** One member holding one role, under a condition when the grant has one. */
export interface Grant {
  role: string;
  member: string;
  /**
   * The IAM condition's expression: absent when the grant has none, `undefined` inside when it has
   * one whose expression is unknown during a preview.
   */
  condition?: { expression: string | undefined };
}

interface IamCondition {
  expression?: string;
}

/** A grant's condition as {@link Grant} carries it. */
function conditionOf(read: () => IamCondition | undefined): Pick<Grant, "condition"> {
  const condition = known(read);
  if (condition === undefined || condition === null) return {};
  return { condition: { expression: known(() => condition.expression) } };
}

/** Principals that make a resource public: anyone on the internet, or any Google account. */
export const PUBLIC_PRINCIPALS: ReadonlySet<string> = new Set([
  "allUsers",
  "allAuthenticatedUsers",
]);

export type IamShape = "member" | "binding" | "policy";

/** The shape of an IAM resource type token, e.g. `gcp:pubsub/topicIAMMember:TopicIAMMember` is a member. */
export function iamShape(type: string): IamShape | undefined {
  const kind = type.slice(type.lastIndexOf(":") + 1).toLowerCase();
  if (kind.endsWith("iammember")) return "member";
  if (kind.endsWith("iambinding")) return "binding";
  if (kind.endsWith("iampolicy")) return "policy";
  return undefined;
}

interface IamProps {
  role?: string;
  member?: string;
  members?: string[];
  condition?: IamCondition;
  policyData?: string;
}

/**
 * The grants an IAM resource declares. Members that are unknown during a preview come from resources of this
 * stack (a service account's email), so they are left out: they cannot be one of the public principals.
 */
export function grantsOf(type: string, props: IamProps): Grant[] {
  const shape = iamShape(type);
  const role = known(() => props.role) ?? "";
  if (shape === "member") {
    const member = known(() => props.member);
    return typeof member === "string"
      ? [{ role, member, ...conditionOf(() => props.condition) }]
      : [];
  }
  if (shape === "binding") {
    const members = known(() => props.members) ?? [];
    const condition = conditionOf(() => props.condition);
    return members.flatMap((_, i) => {
      const member = known(() => members[i]);
      return typeof member === "string" ? [{ role, member, ...condition }] : [];
    });
  }
  if (shape === "policy") {
    const data = known(() => props.policyData);
    if (typeof data !== "string") return [];
    const bindings =
      (
        JSON.parse(data) as {
          bindings?: { role: string; members?: string[]; condition?: IamCondition }[];
        }
      ).bindings ?? [];
    return bindings.flatMap((binding) =>
      (binding.members ?? []).map((member) => ({
        role: binding.role,
        member,
        ...(binding.condition !== undefined && {
          condition: { expression: binding.condition.expression },
        }),
      })),
    );
  }
  return [];
}
