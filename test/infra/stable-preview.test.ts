/**
 * A second preview of an unchanged stack shows no changes: the program evaluated twice, under
 * mocks, registers the same resources with the same inputs. Anything that varies between runs
 * (a timestamp, a random suffix, a map's order) would show up in every `pulumi preview` as a diff.
 */
import { describe, expect, it } from "vitest";
import { evaluateProgram, type RecordedResource } from "../../infra/evaluate";

/**
 * The `ignoreChanges` the program may declare, by resource type, each with the provider behaviour
 * that justifies it. None today: where the provider reads back a value normalised (Firestore's
 * `__name__` on every composite index), the program declares the value as it is read back
 * (infra/gcp/event-store.ts), because an `ignoreChanges` would also hide a real change of the field.
 */
const JUSTIFIED_IGNORE_CHANGES: Record<string, { paths: string[]; reason: string }> = {};

function byUrn(resources: RecordedResource[]): Map<string, RecordedResource> {
  return new Map(resources.map((resource) => [resource.urn, resource]));
}

describe.each(["dev", "prod"])("the %s stack evaluated twice", (stack) => {
  it("registers the same resources with identical inputs and options, and the same outputs", async () => {
    const first = await evaluateProgram({ stack });
    const second = await evaluateProgram({ stack });
    expect(first.resources.length).toBeGreaterThan(100);
    // The same set: the order they register in is not part of a preview, and dynamic resources
    // (the subscription take-overs) register once their provider is serialized, in no fixed order.
    expect([...byUrn(second.resources).keys()].sort()).toEqual(
      [...byUrn(first.resources).keys()].sort(),
    );
    const again = byUrn(second.resources);
    const differing = first.resources
      .filter((resource) => {
        const other = again.get(resource.urn)!;
        try {
          expect(other.inputs).toStrictEqual(resource.inputs);
          expect(other.ignoreChanges).toStrictEqual(resource.ignoreChanges);
          return false;
        } catch {
          return true;
        }
      })
      .map((resource) => resource.urn);
    expect(differing).toEqual([]);
    expect(second.outputs).toStrictEqual(first.outputs);

    // Every ignoreChanges is one listed above with its reason.
    const unexplained = first.resources
      .filter((resource) => resource.ignoreChanges.length > 0)
      .filter(
        (resource) =>
          !resource.ignoreChanges.every((path) =>
            JUSTIFIED_IGNORE_CHANGES[resource.type]?.paths.includes(path),
          ),
      )
      .map((resource) => `${resource.urn}: ${resource.ignoreChanges.join(", ")}`);
    expect(unexplained).toEqual([]);
  }, 60_000);
});
