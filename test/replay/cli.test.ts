import { describe, expect, it } from "vitest";
import { runCli } from "../cli/run-cli";

describe("the replay, backtest and seek commands", () => {
  it.each([
    [
      ["replay", "--from", "24h"],
      "eventline: say how to replay: --handler <name...> to run handlers in-process, or --republish to publish to the topics again\n",
    ],
    [
      ["replay", "--republish", "--chain"],
      "eventline: --chain applies to in-process replays (--handler), not to --republish\n",
    ],
    [
      ["replay", "--republish", "--resume"],
      "eventline: --resume applies to in-process replays (--handler), not to --republish\n",
    ],
    [
      ["replay", "--handler", "campaign-processor", "--database", "(default)"],
      "eventline: --database (default) is the live database; a replay writes into a database of its own, e.g. replay\n",
    ],
    [
      ["backtest", "--cpa-tolerance", "0.1"],
      "eventline: say which period: --from <time> (and --to, default now)\n",
    ],
    [
      ["backtest", "--from", "24h"],
      "eventline: the alternative is the current strategy; change it with --strategy, --cpa-tolerance, --target-multiplier, --pacing-tolerance or --attribution-model\n",
    ],
    [
      ["seek", "campaign-processor"],
      "eventline: say what to do: --to <time | snapshot:name> to seek, --snapshot <name> to take a snapshot first, or both\n",
    ],
    [
      ["seek", "campaign-procesor", "--to", "1h"],
      "eventline: no consumer named campaign-procesor; did you mean campaign-processor? Declared: ",
    ],
  ])("answers %j with one line on stderr and exit code 1", async (args, message) => {
    const result = await runCli(args);
    expect(result.stderr.startsWith(message)).toBe(true);
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(result.stdout).toBe("");
    expect(result.code).toBe(1);
  });
});
