/**
 * `npm run proto:breaking`: fails when the .proto sources break wire or JSON
 * compatibility (buf's WIRE_JSON rules) against the base they change:
 *   - EVENTLINE_BREAKING_AGAINST, when set (a git ref);
 *   - else the merge base with origin/main, on a branch;
 *   - else the previous commit, on main itself.
 * Skips, saying so, when the base has no proto/ module yet (the first commit).
 */
import { execFileSync, spawnSync } from "node:child_process";

function git(...args: string[]): string | undefined {
  const result = spawnSync("git", args, { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function baseRef(): { ref: string; why: string } | undefined {
  const configured = process.env["EVENTLINE_BREAKING_AGAINST"];
  if (configured) return { ref: configured, why: "EVENTLINE_BREAKING_AGAINST" };
  const head = git("rev-parse", "HEAD");
  if (head === undefined) return undefined;
  const mergeBase = git("merge-base", "HEAD", "origin/main");
  if (mergeBase !== undefined && mergeBase !== head)
    return { ref: mergeBase, why: "merge base with origin/main" };
  const previous = git("rev-parse", "HEAD~1");
  return previous === undefined ? undefined : { ref: previous, why: "previous commit" };
}

const base = baseRef();
if (base === undefined) {
  console.log("proto:breaking: no earlier commit to compare with; skipped.");
} else if (git("cat-file", "-e", `${base.ref}:proto/buf.yaml`) === undefined) {
  console.log(
    `proto:breaking: ${base.why} (${base.ref.slice(0, 12)}) has no proto/ module; skipped.`,
  );
} else {
  console.log(`proto:breaking: checking proto/ against the ${base.why} (${base.ref.slice(0, 12)})`);
  try {
    execFileSync("buf", ["breaking", "proto", "--against", `.git#ref=${base.ref},subdir=proto`], {
      stdio: "inherit",
    });
    console.log("proto:breaking: no breaking changes.");
  } catch {
    console.error(
      "proto:breaking: the changes above break existing producers or consumers. Add fields instead of changing or removing them, or version the package (v2).",
    );
    process.exitCode = 1;
  }
}
