/**
 * `eventline catalog`: the event catalog (event, producer, consumers, schema) as
 * Markdown, the whole system as an AsyncAPI 3 document checked by @asyncapi/parser, or the
 * access matrix of a stack (which account may touch which database, topic, subscription and
 * secret, with which role), read from the program evaluated for that stack.
 */
import { Command, Option } from "commander";
import { catalogMarkdown } from "../catalog/event-catalog";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { LOCAL_STACK } from "../local/settings";
import { UserError } from "./errors";
import { load } from "./modules";
import { packageVersion } from "./version";

type CatalogFormat = "markdown" | "asyncapi" | "access";

export function catalogCommand(): Command {
  return new Command("catalog")
    .description(
      "print the event catalog: each event's producer, consumers and schema; or a stack's access matrix",
    )
    .addOption(
      new Option(
        "-f, --format <format>",
        "markdown table, an AsyncAPI 3 document (JSON), or the access matrix of --stack (Markdown)",
      )
        .choices(["markdown", "asyncapi", "access"])
        .default("markdown"),
    )
    .option("-s, --stack <stack>", "stack whose overrides apply", LOCAL_STACK)
    .action(async (options: { format: CatalogFormat; stack: string }) => {
      if (options.format === "access") {
        if (options.stack === LOCAL_STACK)
          throw new UserError(
            "--format access reads what the program grants for a stack the program deploys: add --stack dev (or prod, …)",
          );
        // Loaded when asked for: evaluating the program pulls in the Pulumi SDK.
        const { evaluateProgram } = load.evaluate();
        const { accessMatrix, accessMarkdown } = load.access();
        const evaluation = await evaluateProgram({ stack: options.stack });
        process.stdout.write(accessMarkdown(accessMatrix(evaluation)));
        return;
      }
      const resolved = resolveSystem(system, options.stack);
      if (options.format === "markdown") {
        process.stdout.write(catalogMarkdown(resolved));
        return;
      }
      // The parser takes half a second to load; only this format needs it.
      const { validatedAsyncApi } = load.asyncapi();
      const document = await validatedAsyncApi(resolved, { version: packageVersion() });
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    });
}
