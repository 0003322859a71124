/**
 * SIGTERM while the worker holds a full batch (maxMessages 10 handlers in flight, each
 * taking 100 ms): the pull host stops taking messages, lets in-flight work finish within its
 * drain bound, closes the subscriber (nacking what is left) and exits 0; the next worker
 * picks up what was nacked at once, and nothing is applied twice.
 */
import { DRAIN_TIMEOUT_SECONDS } from "../../infra/model/defaults";
import { ledgerOf, waitForApplied } from "../support/ledger";
import { publishBacklog, shareEvent } from "../support/events";
import { exactlyOnceProblems, provisionWorker, Supervisor, type Scenario } from "./scenario";

export const gracefulDrain: Scenario = {
  name: "graceful-drain",
  title: "SIGTERM during a full batch (graceful drain), then restart",
  inSmoke: true,
  async run(ctx, project) {
    const events = ctx.smoke ? 200 : 2000;
    const terms = ctx.smoke ? 1 : 3;
    await provisionWorker(ctx, project);
    const sent = await publishBacklog(project.pubsub, events, () =>
      shareEvent("ok", { delayMs: "100" }),
    );
    const workers = new Supervisor(project);
    const drains: { code: number | null; ms: number; inFlight: number }[] = [];
    try {
      for (let term = 1; term <= terms; term++) {
        const worker = workers.current;
        await worker.ready;
        // Each worker gets a share of the backlog, and is stopped with its batch full.
        await worker.until(
          (p) => p.handled >= Math.floor(events / (terms + 2)) && p.inFlight > 0,
          "the worker to be busy",
          120_000,
        );
        drains.push(await workers.terminate());
      }
      await workers.current.ready;
      await waitForApplied(project.firestore, events, { timeoutMs: 180_000, say: ctx.say });
      const lastCode = await workers.stop();
      const ledger = await ledgerOf(project.firestore, sent);
      const problems = exactlyOnceProblems(ledger);
      const badExits = [...drains.map((d) => d.code), lastCode].filter((code) => code !== 0);
      if (badExits.length > 0)
        problems.push(`exit codes after SIGTERM: ${badExits.join(", ")} (expected 0)`);
      const slowest = Math.max(...drains.map((d) => d.ms));
      if (slowest > (DRAIN_TIMEOUT_SECONDS + 15) * 1000)
        problems.push(`a drain took ${Math.round(slowest)} ms, past the termination grace period`);
      return {
        sent: events,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary: `${terms} SIGTERMs with ${drains.map((d) => d.inFlight).join(", ")} in flight; exited 0 after ${drains.map((d) => Math.round(d.ms)).join(", ")} ms (process exit included)`,
        problems,
        raw: { events, drains, lastCode },
      };
    } finally {
      await workers.stop();
    }
  },
};
