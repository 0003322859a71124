/**
 * The `eventline` command line: every command, each in its own file, under one program
 * with `--help` at every level. Failures end as one line and a non-zero exit (errors.ts).
 */
import { Command } from "commander";
import { backtestCommand } from "./backtest";
import { catalogCommand } from "./catalog";
import { costCommand } from "./cost";
import { devCommand } from "./dev";
import { dlqCommand } from "./dlq";
import { eventsCommand } from "./events";
import { reportError } from "./errors";
import { graphCommand } from "./graph";
import { hooksCommand } from "./hooks";
import { logsCommand } from "./logs";
import { newCommand } from "./new";
import { planCommand } from "./plan";
import { publishCommand } from "./publish";
import { replayCommand } from "./replay";
import { resetCommand } from "./reset";
import { seekCommand } from "./seek";
import { tailCommand } from "./tail";
import { tokenCommand } from "./token";
import { traceCommand } from "./trace";
import { verifyCommand } from "./verify";
import { packageVersion } from "./version";

/** Commander's own errors (unknown option, bad choice) in the CLI's one-line form, on every command. */
function sayErrorsOurWay(command: Command): void {
  command.configureOutput({
    outputError: (text, write) => write(`eventline: ${text.replace(/^error: /, "")}`),
  });
  for (const sub of command.commands) sayErrorsOurWay(sub);
}

export function buildProgram(): Command {
  const program = new Command("eventline")
    .description(
      "Eventline's local environment and tools: run the system on the emulators, publish, inspect and redrive events, print the catalog, verify what a stack deploys.",
    )
    .version(packageVersion())
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });
  for (const command of [
    devCommand(),
    resetCommand(),
    publishCommand(),
    tailCommand(),
    eventsCommand(),
    logsCommand(),
    traceCommand(),
    dlqCommand(),
    replayCommand(),
    backtestCommand(),
    seekCommand(),
    catalogCommand(),
    graphCommand(),
    newCommand(),
    planCommand(),
    tokenCommand(),
    verifyCommand(),
    costCommand(),
    hooksCommand(),
  ])
    program.addCommand(command);
  sayErrorsOurWay(program);
  return program;
}

/** Runs the CLI with `argv` (as process.argv: node, script, args…). */
export async function run(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    reportError(err);
  }
}
