/**
 * How the CLI fails: one line on stderr that says what is wrong and what to do, and a
 * non-zero exit. A stack trace helps the person who wrote the code, not the one running it,
 * so it is printed only with EVENTLINE_DEBUG=1 and only for errors nobody anticipated.
 */

/** A problem with what the user asked for or with their environment; its message is the whole story. */
export class UserError extends Error {
  override readonly name = "UserError";
}

/**
 * Errors whose message is already written for a person, by name: matching names keeps this
 * module from loading the Google clients and the AsyncAPI parser just to recognize their errors.
 */
const explained = new Set([
  "UserError",
  "LocalEnvironmentError",
  "DeclarationError",
  "EncodeError",
  "DecodeError",
  "AsyncApiError",
  "PortInUseError",
  "RateCardError",
  "ScaffoldError",
]);

/** The line (or, for a declaration with several problems, lines) to print for `err`. */
export function describeError(err: unknown): { message: string; expected: boolean } {
  if (err instanceof Error && explained.has(err.name))
    return { message: err.message, expected: true };
  const message = err instanceof Error ? err.message : String(err);
  return { message: message.split("\n")[0]!, expected: false };
}

/** Prints `err` the CLI way and sets a failing exit code. */
export function reportError(err: unknown): void {
  const { message, expected } = describeError(err);
  process.stderr.write(`eventline: ${message}\n`);
  if (!expected) {
    if (process.env["EVENTLINE_DEBUG"] === "1" && err instanceof Error && err.stack)
      process.stderr.write(`${err.stack}\n`);
    else
      process.stderr.write(
        "eventline: (an unexpected error; run with EVENTLINE_DEBUG=1 to see where it came from)\n",
      );
  }
  process.exitCode = 1;
}
