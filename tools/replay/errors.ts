/**
 * A replay, backtest, snapshot or seek that cannot go ahead as asked: the message says what is
 * wrong and what to do, in one line, and the CLI prints it as it is.
 */
export class ReplayError extends Error {
  override readonly name = "ReplayError";
}
