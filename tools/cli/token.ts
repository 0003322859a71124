/**
 * `eventline token <producer>`: an ID token of the local issuer for a declared producer, to
 * post to `npm start`'s gateway as that producer:
 *   curl -H "Authorization: Bearer $(npx eventline token user-service)" …/v1/events
 */
import { Command } from "commander";
import { eventTypesFor } from "../../handlers/declared";
import { localIssuer } from "../local/local-issuer";
import { LOCAL_STACK } from "../local/settings";
import { UserError } from "./errors";
import { suggest } from "../../handlers/runtime/suggest";

export function tokenCommand(): Command {
  return new Command("token")
    .description(
      "print a local ID token for a declared producer, for requests to npm start's gateway",
    )
    .argument("<producer>", "a producer declared in infra/system.ts (producers)")
    .action(async (name: string) => {
      const producers = eventTypesFor(LOCAL_STACK).system.producers.map(
        (producer) => producer.name,
      );
      if (!producers.includes(name))
        throw new UserError(
          `no producer named ${name}${suggest(name, producers)}; declared: ${producers.join(", ")}`,
        );
      process.stdout.write(`${await (await localIssuer()).token(name)}\n`);
    });
}
