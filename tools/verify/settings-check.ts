/**
 * What a workload read against what it was given. The runtime records every setting it reads
 * (handlers/runtime/settings.ts) and writes the record to the file EVENTLINE_SETTINGS_REPORT
 * names; verify compares it with the declared environment, the image's, and its own
 * overrides. A setting read as required and given by none of them is a failure: the workload
 * would not start in the cloud either. A setting the declaration gives that the catalog does
 * not know is one too: nothing reads it, so it is a typo or a leftover.
 */
import { existsSync, readFileSync } from "node:fs";
import type { SettingRead } from "../../handlers/runtime/settings";
import { FILE_SUFFIX, isSettingName, settings as catalog } from "../../infra/model/settings";

/** Variables a workload may be given that the runtime does not read itself: Node's own. */
const READ_BY_NODE: ReadonlySet<string> = new Set(["NODE_OPTIONS", "NODE_ENV"]);

export interface SettingsFinding {
  /** Read, required, and given by nothing: the workload fails to start. */
  missing: string[];
  /** Read without a value, its default applied. */
  defaulted: string[];
  /** Given by the declaration, but not a setting of the image. */
  unknown: string[];
  /**
   * Given by the declaration, a setting of the image, but never read by this workload: the
   * declaration gives it more than it uses (an archiver given the state database, say).
   */
  unread: string[];
  /** Read, and given by verify's overrides rather than the declaration. */
  overridden: string[];
  /** How many settings it read. */
  read: number;
}

/** The runtime's record of what it read, or undefined when it wrote none (it never started reading). */
export function readReport(file: string): SettingRead[] | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as SettingRead[];
}

/** Compares the reads with what the workload was given. */
export function checkSettings(
  reads: readonly SettingRead[],
  declared: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>>,
): SettingsFinding {
  const given = (name: string): boolean => name in declared || `${name}${FILE_SUFFIX}` in declared;
  return {
    missing: reads
      .filter((read) => read.required && read.from === "absent")
      .map((read) => read.name),
    defaulted: reads.filter((read) => read.from === "default").map((read) => read.name),
    unknown: Object.keys(declared).filter(
      (name) =>
        !READ_BY_NODE.has(name) &&
        !isSettingName(name) &&
        !(name.endsWith(FILE_SUFFIX) && isSettingName(name.slice(0, -FILE_SUFFIX.length))),
    ),
    unread: Object.keys(declared).filter((name) => {
      const setting =
        name.endsWith(FILE_SUFFIX) && isSettingName(name.slice(0, -FILE_SUFFIX.length))
          ? name.slice(0, -FILE_SUFFIX.length)
          : name;
      return isSettingName(setting) && !reads.some((read) => read.name === setting);
    }),
    overridden: reads
      .filter((read) => read.from !== "absent" && !given(read.name) && read.name in overrides)
      .map((read) => read.name),
    read: reads.length,
  };
}

/** How to give a missing setting, from the catalog's source for it. */
export function howToSet(name: string): string {
  if (!isSettingName(name))
    return `${name} is not in infra/model/settings.ts: add it there and to what the program gives the workload`;
  const source = catalog[name].source;
  switch (source.kind) {
    case "config":
      return `pulumi config set ${source.key} <value>, and have the program pass it (infra/workload-settings.ts)`;
    case "secret":
      return `pulumi config set --secret ${source.key} <value>, and have the program pass it (infra/workload-settings.ts)`;
    case "program":
      return `the program must set ${name} on this workload (infra/index.ts and its components)`;
    default:
      return `set ${name} where this workload is declared`;
  }
}
