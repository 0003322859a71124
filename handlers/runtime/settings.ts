/**
 * How the runtime reads its environment: every setting by its name in the catalog
 * (infra/model/settings.ts), from `NAME`, or from the file `NAME_FILE` names (how a GKE pod
 * receives a secret from the Secret Manager add-on). Each read is recorded with whether it
 * was required and where its value came from, so `eventline verify` can compare what a
 * started workload actually read with what the declaration gave it. When
 * EVENTLINE_SETTINGS_REPORT names a file, the record is written there after every new read.
 *
 * A process has one Settings (see {@link processSettings}); handlers that read settings when
 * they first run read them through it too.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { FILE_SUFFIX, settings as catalog, type SettingName } from "../../infra/model/settings";

/** A configuration problem: one line (or one per problem), naming the variable and the fix. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Where verify asks the runtime to write what it read. */
export const SETTINGS_REPORT_VARIABLE = "EVENTLINE_SETTINGS_REPORT";

/** One setting as the process read it. */
export interface SettingRead {
  name: SettingName;
  /** True when a read needed a value (no default applied). */
  required: boolean;
  /** `env` or `file` when set; `default` when the catalog's default or the caller's applied; `absent` otherwise. */
  from: "env" | "file" | "default" | "absent";
}

export class Settings {
  private readonly reads = new Map<SettingName, SettingRead>();
  private readonly values = new Map<
    SettingName,
    { value: string; from: "env" | "file" } | undefined
  >();
  private readonly reportFile: string | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv) {
    this.reportFile = env[SETTINGS_REPORT_VARIABLE]?.trim() || undefined;
  }

  /** The value of `name`, or undefined when it is not set (an empty value counts as not set). */
  get(name: SettingName): string | undefined {
    const found = this.lookup(name);
    this.record(name, false, found?.from ?? "absent");
    return found?.value;
  }

  /** The value of `name`, or `fallback` (default: the catalog's default for it). */
  withDefault(name: SettingName, fallback?: string): string {
    const found = this.lookup(name);
    const value = found?.value ?? fallback ?? (catalog[name] as { default?: string }).default;
    if (value === undefined)
      throw new Error(
        `settings: ${name} has no default in infra/model/settings.ts; read it with get() or require()`,
      );
    this.record(name, false, found?.from ?? "default");
    return value;
  }

  /**
   * The value of `name`.
   * @throws ConfigError `<name> is not set: <why>` when it is not.
   */
  require(name: SettingName, why: string): string {
    const found = this.lookup(name);
    this.record(name, true, found?.from ?? "absent");
    if (found === undefined) throw new ConfigError(`${name} is not set: ${why}`);
    return found.value;
  }

  /** Every setting read so far, in the order first read. */
  read(): SettingRead[] {
    return [...this.reads.values()];
  }

  private lookup(name: SettingName): { value: string; from: "env" | "file" } | undefined {
    if (this.values.has(name)) return this.values.get(name);
    let found: { value: string; from: "env" | "file" } | undefined;
    const direct = this.env[name]?.trim();
    if (direct) {
      found = { value: direct, from: "env" };
    } else {
      const path = this.env[`${name}${FILE_SUFFIX}`]?.trim();
      if (path) {
        let content: string;
        try {
          content = readFileSync(path, "utf8").trim();
        } catch (err) {
          throw new ConfigError(
            `${name}${FILE_SUFFIX} names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)}): mount the secret there or set ${name}`,
          );
        }
        if (content) found = { value: content, from: "file" };
      }
    }
    this.values.set(name, found);
    return found;
  }

  private record(name: SettingName, required: boolean, from: SettingRead["from"]): void {
    const earlier = this.reads.get(name);
    if (earlier !== undefined && (earlier.required || !required)) return;
    this.reads.set(name, { name, required: required || (earlier?.required ?? false), from });
    if (this.reportFile !== undefined) writeFileSync(this.reportFile, JSON.stringify(this.read()));
  }
}

let current: Settings | undefined;

/** The process's settings: those {@link useSettings} installed, else process.env's. */
export function processSettings(): Settings {
  return (current ??= new Settings(process.env));
}

/** Makes `settings` the process's (the launcher does, with the environment it was given). */
export function useSettings(settings: Settings): void {
  current = settings;
}
