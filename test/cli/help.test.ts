import { describe, expect, it } from "vitest";
import { buildProgram } from "../../tools/cli/program";
import { runCli } from "./run-cli";

/** Every command path, e.g. ["dlq", "redrive"]. */
function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (command: ReturnType<typeof buildProgram>, path: string[]): void => {
    for (const sub of command.commands) {
      paths.push([...path, sub.name()]);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(buildProgram(), []);
  return paths;
}

describe("the eventline CLI", () => {
  it("answers --help on every command with its usage and exit code 0", async () => {
    const results = await Promise.all(
      [[], ...commandPaths()].map((path) => runCli([...path, "--help"], { timeoutMs: 110_000 })),
    );
    for (const result of results) {
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: eventline/);
    }
    // Some 40 processes at once, each about a CPU-second to load: on two cores that alone is
    // close to the default 30 s.
  }, 120_000);

  it("answers an unknown command with one line, a suggestion and exit code 1", async () => {
    const result = await runCli(["grpah"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("eventline: unknown command 'grpah'");
    expect(result.stderr).toContain("graph");
    expect(result.stdout).toBe("");
  });
});
