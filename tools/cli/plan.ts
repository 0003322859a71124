/**
 * `eventline plan --stack <stack>`: what deploying the declaration would do to Pub/Sub, compared
 * with what the stack last deployed, each change with its consequence: in place, replace with
 * migration, or refused with the fix (infra/model/plan.ts). The deployed declaration comes from
 * `--deployed <file>` (`pulumi stack output declaration --json` writes it; `-` reads stdin), or,
 * for the local stack, from what `npm start` last provisioned (.eventline/declaration.json).
 * Exits 2 when a change is refused, so CI can stop on it after posting the plan.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { declarationOf } from "../../infra/declaration";
import {
  DeclarationRecordError,
  parseDeclarationRecord,
  type DeclarationRecord,
} from "../../infra/model/declaration-record";
import { planChanges, refusals } from "../../infra/model/plan";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { localDeclarationFile } from "../local/deployed-declaration";
import { LOCAL_STACK } from "../local/settings";
import { planMarkdown } from "../plan/render";
import { schemaIncompatibilities } from "../plan/schema-compatibility";
import { UserError } from "./errors";

const REPO_ROOT = join(__dirname, "..", "..");

/** Exit code of a plan that refuses a change (1 is any other failure). */
export const REFUSED_EXIT_CODE = 2;

interface PlanOptions {
  stack: string;
  deployed?: string;
  json?: boolean;
}

function readText(file: string): string {
  if (file === "-") return readFileSync(0, "utf8");
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(
      `--deployed ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write it with pulumi stack output declaration --json > ${file}`,
    );
  }
}

/** The deployed record, and where it came from; undefined when none is known. */
function deployedRecord(
  options: PlanOptions,
): { record: DeclarationRecord; from: string } | undefined {
  let file = options.deployed;
  if (file === undefined) {
    if (options.stack !== LOCAL_STACK) return undefined;
    file = localDeclarationFile();
    if (!existsSync(file)) return undefined;
  }
  const from = file === "-" ? "stdin" : file;
  let record: DeclarationRecord;
  try {
    record = parseDeclarationRecord(readText(file), `--deployed ${from}`);
  } catch (err) {
    if (err instanceof DeclarationRecordError) throw new UserError(err.message);
    throw err;
  }
  if (record.stack !== options.stack)
    throw new UserError(
      `--deployed ${from} is the declaration of stack ${record.stack}, not ${options.stack}: pass that stack's (pulumi stack output declaration --json --stack ${options.stack})`,
    );
  return { record, from };
}

export function planCommand(): Command {
  return new Command("plan")
    .description(
      "what deploying the declaration would do to Pub/Sub: each change in place, replaced with migration, or refused with the fix",
    )
    .requiredOption("-s, --stack <stack>", `stack to plan: dev, prod, … or ${LOCAL_STACK}`)
    .option(
      "--deployed <file>",
      "the stack's deployed declaration (pulumi stack output declaration --json > file; - for stdin); default for the local stack: what npm start last provisioned",
    )
    .option("--json", "print the plan as JSON")
    .addHelpText(
      "after",
      "\nExit status: 0 when every change can be deployed, 2 when one is refused, 1 on an error.",
    )
    .action((options: PlanOptions) => {
      if (
        options.stack !== LOCAL_STACK &&
        !existsSync(join(REPO_ROOT, `Pulumi.${options.stack}.yaml`))
      )
        throw new UserError(
          `--stack ${options.stack}: no Pulumi.${options.stack}.yaml; plan a stack the program deploys, or ${LOCAL_STACK}`,
        );
      const deployed = deployedRecord(options);
      const current = declarationOf(resolveSystem(system, options.stack));
      const plan = planChanges(current, deployed?.record, {
        ...(deployed !== undefined && {
          schemaIncompatibilities: schemaIncompatibilities(deployed.record, current),
        }),
      });
      const refused = refusals(plan).length;
      process.stdout.write(
        options.json === true
          ? `${JSON.stringify({ ...plan, refused }, null, 2)}\n`
          : planMarkdown(plan, deployed?.from),
      );
      if (refused > 0) process.exitCode = REFUSED_EXIT_CODE;
    });
}
