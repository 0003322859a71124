/**
 * How long a pull worker takes to stop, shared by the runtime (which drains within it) and the
 * Pulumi program (which gives Kubernetes' terminationGracePeriodSeconds more than that), so
 * the two cannot drift apart. Pure constants: the Pulumi program imports this file alone.
 */

/** On SIGTERM a pull worker stops pulling and lets in-flight work finish for at most this long, in seconds. */
export const DRAIN_TIMEOUT_SECONDS = 30;

/** What Kubernetes must allow before SIGKILL: the drain, then closing clients and flushing logs, in seconds. */
export const TERMINATION_GRACE_PERIOD_SECONDS = DRAIN_TIMEOUT_SECONDS + 15;
