/** Entry point of the `eventline` CLI (bin: tools/cli/eventline.cjs; `npm start` runs `dev`). */
import { run } from "./program";

// `eventline catalog | head` closes the pipe early: that is the reader's choice, not a failure.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

void run(process.argv);
