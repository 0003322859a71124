/**
 * `npm run policy -- --stack <stack>`: the CrossGuard pack in CI and on laptops, where there is no Pulumi CLI.
 * It reports what `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`
 * reports for the same program, and exits non-zero on any mandatory violation (see --help).
 */
import { runCli } from "./cli";

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then((code) => {
  process.exitCode = code;
});
