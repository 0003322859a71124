/**
 * The CrossGuard pack the Pulumi CLI runs:
 *
 *   pulumi preview --stack <stack> --policy-pack policies --policy-pack-config policies/config/<stack>.json
 *
 * Constructing a PolicyPack starts the policy server, so this file only serves the rules pack.ts lists; the rules
 * live and are tested in their own modules, and check.ts runs the same list offline.
 */
import { PolicyPack } from "@pulumi/policy";
import { packEnforcementLevel, packName, policies } from "./pack";

new PolicyPack(packName, {
  policies,
  enforcementLevel: packEnforcementLevel,
  description:
    "Eventline's event system on Google Cloud follows the platform's delivery, security and operability rules.",
});
