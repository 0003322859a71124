/**
 * A worker killed with SIGKILL every few seconds while 10 000 events flow in at a steady
 * rate, restarted at once each time. A killed worker takes its leases with it: what it held
 * (handled but unacked, and in flight: at most its maxMessages, since it pulls only for free
 * slots) comes back when those leases run out (60 s, the runtime's lease), charged a delivery
 * attempt; an event whose transaction committed before the kill but whose ack never left is
 * found in the processed records on redelivery: acked without running again.
 *
 * The email-worker runs as declared (5 delivery attempts, retry 10–600 s, ack deadline 600 s):
 * the runtime pulls the emulator with unary pulls, so a kill strands at most maxMessages, and
 * under the declared policies those come back when their leases run out. A streaming
 * subscriber would strand the whole backlog, which under a retry policy may never come back
 * (bench/README.md, "What the emulators do"). The wait stays bounded by the ack deadline and
 * two minutes.
 */
import { benchSystem } from "../support/emulators";
import { WORKER_CONSUMER, publishAtRate, shareEvent } from "../support/events";
import { waitForApplied } from "../support/ledger";
import { provisionWorker, reckon, sleep, Supervisor, type Scenario } from "./scenario";

export const workerKill: Scenario = {
  name: "worker-kill",
  title: "worker SIGKILLed every 4 s while 10 000 events flow",
  inSmoke: false,
  async run(ctx, project) {
    const events = ctx.smoke ? 1000 : 10_000;
    const perSecond = ctx.smoke ? 200 : 400;
    const killEveryMs = 4000;
    await provisionWorker(ctx, project);
    const workers = new Supervisor(project);
    try {
      await workers.current.ready;
      const flowing = publishAtRate(project.pubsub, perSecond, (events / perSecond) * 1000, () =>
        shareEvent(),
      );
      let kills = 0;
      let flowed = false;
      void flowing.finally(() => (flowed = true));
      while (!flowed) {
        await sleep(killEveryMs);
        if (flowed) break;
        await workers.crash();
        kills++;
      }
      const lastKill = performance.now();
      const { confirmed, failed } = await flowing;
      // Leases of killed workers run out by the subscription's ack deadline at the latest.
      const ackDeadlineMs =
        benchSystem.consumers.find((c) => c.name === WORKER_CONSUMER)!.ackDeadlineSeconds * 1000;
      const sayWithWorker = (line: string): void => {
        const { received = 0, handled = 0, inFlight = 0 } = workers.current.latest ?? {};
        ctx.say(
          `${line}; the current worker received ${received}, handled ${handled}, holds ${inFlight} in flight`,
        );
      };
      const applied = await waitForApplied(project.firestore, confirmed.length, {
        timeoutMs: ackDeadlineMs + 120_000,
        stallMs: ackDeadlineMs + 30_000,
        say: sayWithWorker,
      });
      const recoveryS = (performance.now() - lastKill) / 1000;
      const { ledger, problems } = await reckon(project, workers, confirmed, failed);
      const skipped = workers.total("duplicate");
      return {
        sent: confirmed.length,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: "n/a",
        summary: `${kills} SIGKILLs at ${perSecond} events/s; ${skipped}+ redelivered after commit, acked without re-running; ${
          applied >= confirmed.length ? "all" : `${applied} of ${confirmed.length}`
        } applied ${recoveryS.toFixed(0)} s after the last kill`,
        problems,
        raw: {
          events,
          perSecond,
          killEveryMs,
          kills,
          appliedAtEnd: applied,
          recoverySeconds: recoveryS,
          duplicateDeliveriesSkipped: skipped,
          workers: workers.started.length,
        },
      };
    } finally {
      await workers.stop();
    }
  },
};
