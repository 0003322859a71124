/**
 * `eventline cost --stack <stack>`: the stack's monthly cost at 1×, 10× and 100× the traffic
 * the declaration expects, per service, per consumer and per resource, priced with the newest
 * rate card in tools/cost/ (tools/cost/estimate.ts). `--baseline` adds the change against an
 * earlier `--json` estimate; the pull-request workflow compares with main this way.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { UserError } from "./errors";
import { load } from "./modules";

function readBaseline(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UserError(
      `--baseline ${path}: ${err instanceof Error ? err.message : String(err)}; give a file written by eventline cost --json`,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(
      `--baseline ${path} is not JSON; give a file written by eventline cost --json`,
    );
  }
}

export function costCommand(): Command {
  return new Command("cost")
    .description(
      "estimate a stack's monthly Google Cloud cost from what its program deploys and the traffic the declaration expects",
    )
    .requiredOption("-s, --stack <stack>", "the stack whose program to price (dev, prod, …)")
    .option("--json", "print the estimate as JSON (what --baseline reads)")
    .option(
      "--baseline <file>",
      "an earlier `eventline cost --json`, to show the change against it",
    )
    .option("--rate-card <file>", "a rate card to price with (default: the newest in tools/cost/)")
    .addHelpText(
      "after",
      "\nTraffic comes from infra/system.ts: each topic's volume (eventsPerSecond, averageBytes, handlerMs, typeShares), each consumer's volume (share, handlerMs), each handler's firestorePerEvent. Topics without a volume are priced as idle. The output lists every assumption the numbers rest on.",
    )
    .action(
      async (options: { stack: string; json?: boolean; baseline?: string; rateCard?: string }) => {
        const { loadRateCard } = load.rateCard();
        const { estimateCost } = load.costEstimate();
        const { costMarkdown, isEstimate } = load.costReport();
        const card =
          options.rateCard === undefined ? loadRateCard() : loadRateCard(options.rateCard);
        let baseline;
        if (options.baseline !== undefined) {
          const parsed = readBaseline(options.baseline);
          if (!isEstimate(parsed))
            throw new UserError(
              `--baseline ${options.baseline} is not an estimate (no total, byService and byConsumer); give a file written by eventline cost --json`,
            );
          baseline = parsed;
        }
        const resolved = resolveSystem(system, options.stack);
        if (!options.json) process.stderr.write(`evaluating the program for ${options.stack}…\n`);
        // Loaded when the command runs: evaluating the program pulls in the Pulumi SDK.
        const { evaluateProgram } = load.evaluate();
        const evaluation = await evaluateProgram({ stack: options.stack });
        const estimate = estimateCost({ system: resolved, resources: evaluation.resources, card });
        process.stdout.write(
          options.json
            ? `${JSON.stringify(estimate, null, 2)}\n`
            : costMarkdown(estimate, baseline),
        );
      },
    );
}
