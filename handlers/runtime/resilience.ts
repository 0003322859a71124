/**
 * Calls to outside services (SMTP, SMS providers, ad platforms) through cockatiel: a bulkhead
 * bounds how many run at once, failed attempts are retried with exponential backoff, a
 * circuit breaker stops calling a service that keeps failing (closed → open → half-open;
 * docs/requirements.md, VS-8) and a timeout bounds each attempt. Policies are named and live
 * for the process, so one breaker sees every call to its service, whichever message made it.
 *
 * Failures leave in the runtime's error taxonomy: an open circuit, a full bulkhead and a
 * timeout become a {@link RetryableError} (the message is nacked and Pub/Sub backs off);
 * a {@link PermanentError} from the call is neither retried nor counted against the breaker,
 * since a rejected request says nothing about the service's health.
 */
import {
  BulkheadRejectedError,
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  wrap,
  type IPolicy,
} from "cockatiel";
import type { Logger } from "pino";
import { PermanentError, RetryableError } from "./errors";
import { ATTR, SpanKind, inSpan } from "./tracing";

export interface OutsideCallOptions {
  /** Time one attempt may take, in milliseconds; its AbortSignal fires then. Default 10 000. */
  timeoutMs?: number;
  /** Attempts after the first, with exponential backoff and jitter. Default 2. */
  retries?: number;
  /** First backoff between attempts, in milliseconds. Default 100. */
  initialBackoffMs?: number;
  /** Longest backoff between attempts, in milliseconds. Default 2 000. */
  maxBackoffMs?: number;
  /** Consecutive failed attempts that open the circuit. Default 5. */
  breakAfter?: number;
  /** Time the circuit stays open before one trial call may pass (half-open), in milliseconds. Default 10 000. */
  halfOpenAfterMs?: number;
  /** Calls running at once in this process. Default 10. */
  maxConcurrent?: number;
  /** Calls waiting for a slot; beyond that a call is rejected at once. Default 100. */
  maxQueued?: number;
}

const defaults: Required<OutsideCallOptions> = {
  timeoutMs: 10_000,
  retries: 2,
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  breakAfter: 5,
  halfOpenAfterMs: 10_000,
  maxConcurrent: 10,
  maxQueued: 100,
};

export type BreakerState = "closed" | "open" | "half-open" | "isolated";

const stateNames: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

/** A named outside service, called through its policies. */
export class OutsideCall {
  private readonly policy: IPolicy;
  private readonly breaker;

  constructor(
    readonly name: string,
    options: OutsideCallOptions = {},
    logger?: Logger,
  ) {
    const o = { ...defaults, ...options };
    const countsAgainstService = handleWhen(
      (err) => !(err instanceof PermanentError) && !(err instanceof BrokenCircuitError),
    );
    this.breaker = circuitBreaker(countsAgainstService, {
      halfOpenAfter: o.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(o.breakAfter),
    });
    this.breaker.onStateChange((state) =>
      logger?.warn(
        { outsideCall: name, breaker: stateNames[state] },
        `circuit ${name} is ${stateNames[state]}`,
      ),
    );
    this.policy = wrap(
      bulkhead(o.maxConcurrent, o.maxQueued),
      retry(countsAgainstService, {
        maxAttempts: o.retries,
        backoff: new ExponentialBackoff({
          initialDelay: o.initialBackoffMs,
          maxDelay: o.maxBackoffMs,
        }),
      }),
      this.breaker,
      timeout(o.timeoutMs, TimeoutStrategy.Aggressive),
    );
  }

  /** The circuit's state now. */
  get state(): BreakerState {
    return stateNames[this.breaker.state];
  }

  /**
   * Runs `call` under the policies. `signal` aborts when the attempt times out; pass it on to
   * fetch or the provider's client so an abandoned attempt stops.
   * @throws RetryableError when the circuit is open, the bulkhead is full or the last attempt timed out;
   *   otherwise the call's own last error.
   */
  async execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // One client span per call, retries included, with the circuit's state before and after.
    return inSpan(
      `call ${this.name}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR.outsideCall]: this.name, [ATTR.breakerState]: this.state },
      },
      async (span) => {
        try {
          return await this.executeUnderPolicies(call);
        } finally {
          span.setAttribute(ATTR.breakerStateAfter, this.state);
        }
      },
    );
  }

  private async executeUnderPolicies<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(({ signal }) => call(signal));
    } catch (err) {
      if (err instanceof BrokenCircuitError)
        throw new RetryableError(`${this.name}: the circuit is open after repeated failures`, {
          cause: err,
        });
      if (err instanceof BulkheadRejectedError)
        throw new RetryableError(`${this.name}: too many calls in flight`, { cause: err });
      if (err instanceof TaskCancelledError)
        throw new RetryableError(`${this.name}: the call timed out`, { cause: err });
      throw err;
    }
  }
}

/** The process's outside calls by name: the first use of a name creates it with its options. */
export class OutsideCalls {
  private readonly calls = new Map<string, OutsideCall>();

  constructor(private readonly logger?: Logger) {}

  get(name: string, options?: OutsideCallOptions): OutsideCall {
    let call = this.calls.get(name);
    if (call === undefined) {
      call = new OutsideCall(name, options, this.logger);
      this.calls.set(name, call);
    }
    return call;
  }
}
