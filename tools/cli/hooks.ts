/**
 * `eventline hooks`: the declared hooks, and `hooks listen`, a local receiver that checks each
 * delivery's Standard Webhooks signature and prints what it got (tools/hooks/receiver.ts).
 * Under `npm start` the hooks send to it (`stacks.local.hooks` in infra/system.ts points them at
 * 127.0.0.1:8787), signed with the local secret it verifies with by default.
 */
import { Command, InvalidArgumentError } from "commander";
import { LOCAL_HOOK_SIGNING_SECRET } from "../../handlers/adapters/local-hook-secret";
import { resolveSystem } from "../../infra/model/resolve";
import { system } from "../../infra/system";
import { startHookReceiver, type HookDelivery } from "../hooks/receiver";
import { UserError } from "./errors";
import { table } from "./format";
import { LOCAL_STACK } from "../local/settings";

/** Where `npm start`'s hooks send by default (stacks.local.hooks in infra/system.ts). */
export const LOCAL_HOOKS_PORT = 8787;

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    throw new InvalidArgumentError("use a port, 0..65535");
  return parsed;
}

function line(delivery: HookDelivery): string {
  const when = new Date().toISOString();
  const { type = "?", id = "?", source = "?" } = delivery.attributes;
  if (!delivery.verdict.accepted)
    return `${when}  REFUSED ${delivery.verdict.status}  ${delivery.path}  ${delivery.verdict.reason}`;
  return `${when}  ok  ${delivery.path}  ${type}  id=${id}  source=${source}  webhook-id=${delivery.webhookId}\n    ${delivery.body}`;
}

export function hooksCommand(): Command {
  const hooks = new Command("hooks").description(
    "the declared hooks (outside agents told of events over signed HTTP), and a local receiver for them",
  );
  hooks
    .command("list")
    .description("list the hooks: what each takes, where it is sent on a stack, what it may answer")
    .option("-s, --stack <stack>", "the stack whose addresses to show", LOCAL_STACK)
    .action((options: { stack: string }) => {
      const resolved = resolveSystem(system, options.stack);
      const rows = resolved.consumers
        .filter((consumer) => consumer.hook !== undefined)
        .map((consumer) => [
          consumer.name,
          consumer.contract.accepts.join(", "),
          consumer.hook!.url,
          consumer.contract.emits.join(", ") || "-",
        ]);
      process.stdout.write(
        rows.length === 0
          ? "no hooks are declared (hooks in infra/system.ts)\n"
          : table(["hook", "takes", "sent to", "may answer"], rows),
      );
    });
  hooks
    .command("listen")
    .description(
      "run a local receiver that checks each hook delivery's signature and prints it, until Ctrl-C",
    )
    .option("-p, --port <port>", "the port on 127.0.0.1", port, LOCAL_HOOKS_PORT)
    .option(
      "--secret <whsec>",
      "the signing secret to verify with (default: the local one npm start's hooks sign with; or EVENTLINE_HOOK_SIGNING_SECRET)",
    )
    .addHelpText(
      "after",
      "\nIt answers 204 to a delivery it trusts, 401 to a bad signature, 400 to what is not a CloudEvent. A delivery of a stack other than local is signed with that stack's secret: pass it with --secret.",
    )
    .action(async (options: { port: number; secret?: string }) => {
      const secret =
        options.secret ?? process.env["EVENTLINE_HOOK_SIGNING_SECRET"] ?? LOCAL_HOOK_SIGNING_SECRET;
      if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(secret))
        throw new UserError(
          "--secret is not a Standard Webhooks secret: whsec_ and base64, as eventline:hookSigningSecret holds it",
        );
      let receiver;
      try {
        receiver = await startHookReceiver({
          secret,
          port: options.port,
          onDelivery: (delivery) => process.stdout.write(`${line(delivery)}\n`),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw new UserError(
            `port ${options.port} is in use: stop what holds it, or pass --port (and point the hooks there)`,
          );
        throw err;
      }
      process.stderr.write(
        `eventline hooks listening on ${receiver.url}/<hook>; Ctrl-C stops it\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await receiver.close();
    });
  return hooks;
}
