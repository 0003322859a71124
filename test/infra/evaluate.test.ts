import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluateProgram } from "../../infra/evaluate";

const program = join(__dirname, "../fixtures/failing-program.ts");
const debuggable = createRequire(__filename)("@pulumi/pulumi/runtime/debuggable") as {
  debuggablePromise: unknown;
};

describe("evaluating the program under mocks", () => {
  it("keeps the stack of an error the program throws, though Pulumi's own stacks are left out", async () => {
    const error = (await evaluateProgram({ stack: "dev", program }).catch(
      (thrown: unknown) => thrown,
    )) as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.stack).toContain("labelsOf");
    expect(error.stack).toContain("failing-program.ts");
  });

  it("puts Pulumi's promise tagging and Node's stack formatting back when it is done, failed or not", async () => {
    const tagging = debuggable.debuggablePromise;
    const formatting = Error.prepareStackTrace;
    await evaluateProgram({ stack: "dev", program }).catch(() => undefined);
    expect(debuggable.debuggablePromise).toBe(tagging);
    expect(Error.prepareStackTrace).toBe(formatting);
    expect(new Error().stack).toContain("evaluate.test.ts");
  });
});
