import { describe, expect, it } from "vitest";
import { system } from "../../infra/system";
import { registry } from "../../handlers/registry";

describe("the handler registry", () => {
  it("implements every handler the declaration names", () => {
    const missing = Object.keys(system.handlers).filter((name) => registry[name] === undefined);
    expect(missing).toEqual([]);
  });

  it("registers each implementation under its own contract, accepting what the contract accepts", () => {
    for (const [name, contract] of Object.entries(system.handlers)) {
      const handler = registry[name]!;
      expect(handler.kind === "handler" && [...handler.accepts].sort(), name).toEqual(
        [...contract.accepts].sort(),
      );
    }
  });
});
