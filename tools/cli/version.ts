/** The package's version, for `--version` and generated documents. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

let version: string | undefined;

export function packageVersion(): string {
  version ??= (
    JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  return version;
}
