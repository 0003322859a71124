/**
 * `eventline verify --stack <stack>`: starts every workload the program deploys for the stack
 * as the image runs it, with its declared environment, against the emulators, and checks its
 * probes, its events, the settings it reads and its shutdown (tools/verify/verify.ts). Exits 1
 * naming each workload, its problem and the fix.
 */
import { Command, InvalidArgumentError } from "commander";
import { UserError } from "./errors";
import { load } from "./modules";

function positive(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError("use a whole number of 1 or more");
  return parsed;
}

export function verifyCommand(): Command {
  return new Command("verify")
    .description(
      "start every workload a stack deploys, exactly as declared, against the emulators, and check probes, events, settings and shutdown",
    )
    .requiredOption("-s, --stack <stack>", "the stack whose program to verify (dev, prod, …)")
    .option(
      "--only <workloads...>",
      "verify only these workloads (Cloud Run service or Deployment names)",
    )
    .option("-c, --concurrency <n>", "workloads running at once", positive, 4)
    .option("--json", "print the report as JSON")
    .addHelpText(
      "after",
      "\nIt overrides only what must point at this machine (the emulators, the port, the push token issuer, the SMTP server and messaging provider, the secrets' values) and lists each override. It does not show what only the cloud can: IAM, networking, quotas, Pub/Sub's own delivery; docs/deploy.md says what a first deploy adds.",
    )
    .action(
      async (options: { stack: string; only?: string[]; concurrency: number; json?: boolean }) => {
        // Loaded when the command runs: it pulls in the Pulumi SDK, the Google clients and the builder.
        const { verify } = load.verify();
        const { formatReport } = load.verifyReport();
        const say = options.json
          ? () => undefined
          : (line: string) => process.stderr.write(`${line}\n`);
        let report;
        try {
          report = await verify({
            stack: options.stack,
            concurrency: options.concurrency,
            say,
            ...(options.only !== undefined && { only: options.only }),
          });
        } catch (err) {
          if (
            err instanceof Error &&
            err.name === "Error" &&
            err.message.startsWith("no workload named")
          )
            throw new UserError(err.message);
          throw err;
        }
        process.stdout.write(
          options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report),
        );
        if (!report.ok) process.exitCode = 1;
      },
    );
}
