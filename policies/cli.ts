/**
 * The offline check's command line (`npm run policy`, policies/check.ts): arguments in, report and exit code out.
 * It takes its output streams as arguments, so tests run it in-process.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  DeclarationRecordError,
  parseDeclarationRecord,
  type DeclarationRecord,
} from "../infra/model/declaration-record";
import { knownStacks, PolicyConfigError } from "./config";
import { checkStack } from "./offline";
import { formatReport, jsonReport, tally } from "./report";

const usage = `Usage: npm run policy -- --stack <stack> [--program <path>] [--config <file>] [--deployed <file>] [--json]

Evaluates the Pulumi program for <stack> under mocks and runs every rule of the
Eventline policy pack (policies/) over the resources it declares, with the levels
and settings of policies/config/<stack>.json.

Options:
  --stack <stack>    the stack to check: ${knownStacks().join(", ")}
  --program <path>   evaluate this program instead of infra/index.ts
  --config <file>    pack config to use instead of policies/config/<stack>.json
  --deployed <file>  the stack's deployed declaration (pulumi stack output declaration
                     --json), so pubsub-subscription-replace compares with it
  --json             print the violations as JSON
  -h, --help         print this help

Exit codes: 0 no mandatory violation, 1 mandatory violations, 2 bad usage or
config, 3 the program failed to evaluate.
`;

/** Bad usage: one line on stderr, exit code 2. */
class UsageError extends Error {}

function options(
  argv: string[],
): { stack: string; program?: string; config?: string; deployed?: string; json: boolean } | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        stack: { type: "string" },
        program: { type: "string" },
        config: { type: "string" },
        deployed: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (see --help)`);
  }
  if (parsed.help) return "help";
  const stacks = knownStacks();
  if (parsed.stack === undefined)
    throw new UsageError(`--stack is required: one of ${stacks.join(", ")}`);
  // With --config, any stack the program can evaluate is checked; without, its config must exist.
  if (parsed.config === undefined && !stacks.includes(parsed.stack))
    throw new UsageError(
      `no policy config for stack "${parsed.stack}": policies/config/ has ${stacks.join(", ")}; add policies/config/${parsed.stack}.json (npx eventline new stack ${parsed.stack} --from dev writes one) or give --config <file>`,
    );
  return {
    stack: parsed.stack,
    json: parsed.json,
    ...(parsed.program !== undefined && { program: parsed.program }),
    ...(parsed.config !== undefined && { config: parsed.config }),
    ...(parsed.deployed !== undefined && { deployed: parsed.deployed }),
  };
}

/** The deployed declaration in `file`. @throws UsageError naming the flag and what is wrong. */
function readDeployed(file: string): DeclarationRecord {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `--deployed ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return parseDeclarationRecord(text, `--deployed ${file}`);
  } catch (err) {
    if (err instanceof DeclarationRecordError) throw new UsageError(err.message);
    throw err;
  }
}

/** Where the command writes. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * Runs the check for `argv` (the arguments after `npm run policy --`) and returns the exit code: 0 no mandatory
 * violation, 1 mandatory violations, 2 bad usage or config (one line on stderr), 3 the program failed to evaluate.
 */
export async function runCli(argv: string[], out: Output): Promise<number> {
  try {
    return await run(argv, out);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.stderr(`policy: ${err.message}\n`);
    return 2;
  }
}

async function run(argv: string[], out: Output): Promise<number> {
  const chosen = options(argv);
  if (chosen === "help") {
    out.stdout(usage);
    return 0;
  }
  const deployed = chosen.deployed === undefined ? undefined : readDeployed(chosen.deployed);
  let outcome;
  try {
    outcome = await checkStack({
      stack: chosen.stack,
      ...(deployed !== undefined && { deployed }),
      ...(chosen.program !== undefined && { program: chosen.program }),
      ...(chosen.config !== undefined && { configFile: chosen.config }),
    });
  } catch (err) {
    if (err instanceof PolicyConfigError) throw new UsageError(`policy config: ${err.message}`);
    out.stderr(
      `policy: the program did not evaluate for stack ${chosen.stack}:\n${(err as Error).stack ?? String(err)}\n`,
    );
    return 3;
  }
  const { pack, resources, violations, placeholderSecrets } = outcome;
  if (placeholderSecrets.length > 0) {
    out.stderr(
      `policy: checked with example values for the secrets Pulumi.${chosen.stack}.yaml does not set yet (${placeholderSecrets.join(", ")}); ` +
        `a real preview refuses the stack until they are set with pulumi config set --secret (docs/deploy.md)\n`,
    );
  }
  out.stdout((chosen.json ? jsonReport : formatReport)(chosen.stack, pack, violations, resources));
  return tally(violations).mandatory > 0 ? 1 : 0;
}
