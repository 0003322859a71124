/**
 * `eventline reset`: forget what `npm start` saved (the Firestore emulator's data), so the next
 * start begins empty. Refused while `npm start` runs: it would save its data again on Ctrl-C.
 */
import { Command } from "commander";
import { clearSavedState } from "../local/saved-state";
import { localSettings, readDevState } from "../local/settings";
import { UserError } from "./errors";

export function resetCommand(): Command {
  return new Command("reset")
    .description(
      "forget the local environment's saved data (events, projections), so npm start begins empty",
    )
    .action(() => {
      if (readDevState() !== undefined)
        throw new UserError(
          "npm start is running (.eventline/dev.json); stop it with Ctrl-C first, or it saves its data again as it stops",
        );
      const { stateDir } = localSettings();
      process.stdout.write(
        clearSavedState(stateDir)
          ? `removed ${stateDir}; the next npm start begins empty\n`
          : `nothing saved in ${stateDir}\n`,
      );
    });
}
