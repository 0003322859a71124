/**
 * 10% transient handler errors and 1% poison events in a 10 000-event backlog. Transient
 * events fail their first attempt (RetryableError → nack → redelivered) and are then applied
 * once. Poison events never succeed: half throw a PermanentError (dead-lettered at once with
 * its reason), half crash with a plain Error (nacked until the subscription's last delivery
 * attempt, then dead-lettered as max-delivery-attempts). Each must be on the parking
 * subscription once, with its reason, never applied, and nothing may still be delivered
 * once they are parked: none is retried forever.
 */
import { POISON_REASON, type Behaviour } from "../support/bench-handlers";
import { MAX_ATTEMPTS_REASON } from "../../handlers/runtime/outcome";
import { benchSystem } from "../support/emulators";
import { WORKER_CONSUMER, idOf, publishBacklog, shareEvent } from "../support/events";
import { ledgerOf, readParked, waitForApplied } from "../support/ledger";
import { exactlyOnceProblems, provisionWorker, sleep, Supervisor, type Scenario } from "./scenario";

function behaviourOf(i: number): Behaviour {
  if (i % 100 === 50) return "poison-permanent";
  if (i % 100 === 99) return "poison-crash";
  return i % 10 === 0 ? "transient" : "ok";
}

export const handlerErrors: Scenario = {
  name: "handler-errors",
  title: "10% transient handler errors, 1% poison events",
  inSmoke: true,
  async run(ctx, project) {
    const events = ctx.smoke ? 1000 : 10_000;
    const quietMs = ctx.smoke ? 3000 : 15_000;
    const consumer = benchSystem.consumers.find((c) => c.name === WORKER_CONSUMER)!;
    await provisionWorker(ctx, project);
    const expected = new Map<string, string>();
    const sent = await publishBacklog(project.pubsub, events, (i) => {
      const behaviour = behaviourOf(i);
      const message = shareEvent(behaviour);
      if (behaviour === "poison-permanent") expected.set(idOf(message), POISON_REASON);
      if (behaviour === "poison-crash") expected.set(idOf(message), MAX_ATTEMPTS_REASON);
      return message;
    });
    const workers = new Supervisor(project);
    try {
      await workers.current.ready;
      await waitForApplied(project.firestore, events - expected.size, {
        timeoutMs: 300_000,
        say: ctx.say,
      });
      await workers.current.until(
        (p) => p.deadLettered >= expected.size,
        `${expected.size} dead letters`,
        300_000,
      );
      const receivedThen = workers.total("received");
      await sleep(quietMs);
      const lateDeliveries = workers.total("received") - receivedThen;
      const retries = workers.total("retry");
      await workers.stop();
      const ledger = await ledgerOf(project.firestore, sent, new Set(expected.keys()));
      const { parked, repeats } = await readParked(
        project.pubsub,
        consumer.parkingSubscription,
        expected.size,
        30_000,
      );
      const problems = exactlyOnceProblems(ledger);
      if (ledger.wronglyApplied > 0)
        problems.push(`${ledger.wronglyApplied} poison events applied`);
      const wrongReason = [...expected].filter(([id, reason]) => parked.get(id)?.reason !== reason);
      if (wrongReason.length > 0)
        problems.push(
          `${wrongReason.length} poison events not parked with their reason (e.g. ${wrongReason[0]![0]}: ${parked.get(wrongReason[0]![0])?.reason ?? "not parked"})`,
        );
      if (repeats > 0) problems.push(`${repeats} events dead-lettered twice`);
      if (lateDeliveries > 0)
        problems.push(
          `${lateDeliveries} deliveries in the ${quietMs / 1000} s after everything was settled: something is retried forever`,
        );
      const crashAttempts = [...expected]
        .filter(([, reason]) => reason === MAX_ATTEMPTS_REASON)
        .map(([id]) => parked.get(id)?.attempt);
      return {
        sent: events,
        applied: ledger.applied,
        duplicatesApplied: ledger.duplicatesApplied,
        lost: ledger.lost,
        deadLettered: `${[...expected.keys()].filter((id) => parked.has(id)).length}/${expected.size} with reason`,
        summary: `${retries} nacked attempts retried; ${POISON_REASON} parked at once, crashing ones as ${MAX_ATTEMPTS_REASON} on attempt ${[...new Set(crashAttempts)].join("/")}; ${lateDeliveries} deliveries afterwards`,
        problems,
        raw: {
          events,
          poison: expected.size,
          retries,
          lateDeliveries,
          quietMs,
          maxDeliveryAttempts: consumer.maxDeliveryAttempts,
          backoff: ctx.smoke
            ? "0.1–0.5 s"
            : `${consumer.retry.minBackoffSeconds}–${consumer.retry.maxBackoffSeconds} s`,
        },
      };
    } finally {
      await workers.stop();
    }
  },
};
