/**
 * Schema changes in the plan: buf breaking (WIRE_JSON) run on the deployed and the declared Pub/Sub
 * schema definitions. The changed definitions are derived from what the program deploys today.
 */
import { describe, expect, it } from "vitest";
import { declarationOf } from "../../infra/declaration";
import { planChanges, refusals } from "../../infra/model/plan";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import {
  definitionIncompatibilities,
  schemaIncompatibilities,
} from "../../tools/plan/schema-compatibility";

const current = declarationOf(resolveSystem(system, "dev"));
const topic = current.topics.find((t) => /\n\s+string \w+ = \d+;/.test(t.schemaDefinition ?? ""))!;
const definition = topic.schemaDefinition!;
const [, field, number] = /\n\s+string (\w+) = (\d+);/.exec(definition)!;

/** The definition with one string field typed otherwise: what an incompatible change looks like. */
const retyped = definition.replace(`string ${field} = ${number};`, `int64 ${field} = ${number};`);
/** The definition with a field added to the wrapper: a compatible change. */
const extended = definition.replace(/\n}\s*$/, "\n  string eventline_added = 536870911;\n}\n");

/** The deployed declaration had `deployedDefinition` for the topic. */
function deployedWith(deployedDefinition: string) {
  const deployed = structuredClone(current);
  const t = deployed.topics.find((candidate) => candidate.name === topic.name)!;
  t.schemaDefinition = deployedDefinition;
  t.schemaDigest = "0".repeat(64);
  return deployed;
}

describe("schema compatibility in the plan", () => {
  it("finds a field whose type changed, with buf's rule", () => {
    const found = definitionIncompatibilities(definition, retyped);
    expect(found).toHaveLength(1);
    expect(found[0]!.rule).toBe("FIELD_WIRE_JSON_COMPATIBLE_TYPE");
    expect(found[0]!.message).toContain(`with name "${field}"`);
    expect(found[0]!.message).toContain('changed type from "string" to "int64"');
  });

  it("accepts an added field, and an unchanged definition", () => {
    expect(extended).not.toBe(definition);
    expect(definitionIncompatibilities(definition, extended)).toEqual([]);
    expect(definitionIncompatibilities(definition, definition)).toEqual([]);
  });

  it("refuses an incompatible change with the field and the rule", () => {
    // Deployed with the field as int64; the declaration has it as a string now.
    const deployed = deployedWith(retyped);
    const issues = schemaIncompatibilities(deployed, current);
    expect([...issues.keys()]).toEqual([topic.name]);
    const plan = planChanges(current, deployed, { schemaIncompatibilities: issues });
    const [refused, ...rest] = refusals(plan);
    expect(rest).toEqual([]);
    expect(refused).toMatchObject({ resource: "schema", guards: ["schema-incompatible"] });
    expect(refused!.effect).toContain(`with name "${field}"`);
    expect(refused!.effect).toContain("FIELD_WIRE_JSON_COMPATIBLE_TYPE");
  });

  it("shows a compatible change as the revision it commits, in place", () => {
    const deployed = deployedWith(definition.replace(/\n\s+string \w+ = \d+;/, ""));
    const plan = planChanges(current, deployed, {
      schemaIncompatibilities: schemaIncompatibilities(deployed, current),
    });
    expect(refusals(plan)).toEqual([]);
    const [change, ...rest] = plan.changes;
    expect(rest).toEqual([]);
    expect(change).toMatchObject({ resource: "schema", consequence: "in-place" });
    expect(change!.effect).toContain(`commits a new revision, sha256 ${topic.schemaDigest}`);
    expect(change!.effect).toContain(
      "is compatible with the deployed one (buf breaking, WIRE_JSON)",
    );
  });
});
