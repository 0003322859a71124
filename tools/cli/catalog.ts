/**
 * `eventline catalog`: the event catalog (event, producer, consumers, schema) as
 * Markdown, or the whole system as an AsyncAPI 3 document checked by @asyncapi/parser.
 */
import { Command, Option } from "commander";
import { catalogMarkdown } from "../catalog/event-catalog";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { LOCAL_STACK } from "../local/settings";
import { load } from "./modules";
import { packageVersion } from "./version";

export function catalogCommand(): Command {
  return new Command("catalog")
    .description("print the event catalog: each event's producer, consumers and schema")
    .addOption(
      new Option("-f, --format <format>", "markdown table, or an AsyncAPI 3 document (JSON)")
        .choices(["markdown", "asyncapi"])
        .default("markdown"),
    )
    .option("-s, --stack <stack>", "stack whose overrides apply", LOCAL_STACK)
    .action(async (options: { format: "markdown" | "asyncapi"; stack: string }) => {
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
