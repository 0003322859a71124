/**
 * The pack's contents: every rule with its default enforcement level. index.ts serves exactly this list to the
 * Pulumi CLI and check.ts runs exactly this list offline; a stack's config file (policies/config/<stack>.json)
 * changes levels and settings for both alike.
 */
import type { EnforcementLevel, Policies } from "@pulumi/policy";
import {
  cloudRunIngress,
  cloudRunMaxInstances,
  cloudRunNoPublicInvoker,
  cloudRunServiceAccount,
} from "./cloudrun";
import { firestoreDeleteProtection, firestoreReplayIndexes } from "./firestore";
import { iamDataRoleScope } from "./iam-scope";
import { imageByDigest } from "./images";
import { deploymentHasHpa, hpaMaxReplicas } from "./kubernetes-scaling";
import {
  containerResources,
  dropCapabilities,
  noPrivilegeEscalation,
  notDefaultNamespace,
  probes,
  readOnlyRootFilesystem,
  runAsNonRoot,
} from "./kubernetes-workloads";
import { requiredLabels } from "./labels";
import { deadLetterIam, deadLetterParking } from "./pubsub-dead-letters";
import { subscriptionReplace } from "./pubsub-replace";
import {
  pushSubscriptionNoExactlyOnce,
  pushSubscriptionOidc,
  subscriptionAckDeadline,
  subscriptionDeadLetter,
  subscriptionExpiration,
  subscriptionFilter,
  subscriptionRetryPolicy,
} from "./pubsub-subscriptions";
import { pubsubNoPublicIam, topicCmek, topicRetention, topicSchema } from "./pubsub-topics";
import { workloadsOwnServiceAccount } from "./workload-identities";

/** The pack's name, as `pulumi preview --policy-pack` reports it. */
export const packName = "eventline";

/** The level of a rule that names none; every rule here names its own. */
export const packEnforcementLevel: EnforcementLevel = "advisory";

export const policies: Policies = [
  subscriptionDeadLetter("mandatory"),
  subscriptionRetryPolicy("mandatory"),
  subscriptionAckDeadline("mandatory"),
  pushSubscriptionOidc("mandatory"),
  pushSubscriptionNoExactlyOnce("mandatory"),
  subscriptionFilter("mandatory"),
  subscriptionExpiration("mandatory"),
  subscriptionReplace("mandatory"),
  deadLetterParking("mandatory"),
  deadLetterIam("mandatory"),
  // Mandatory unless a stack's config lowers it (dev: advisory).
  topicSchema("mandatory"),
  topicRetention("mandatory"),
  topicCmek("mandatory"),
  pubsubNoPublicIam("mandatory"),
  cloudRunNoPublicInvoker("mandatory"),
  cloudRunIngress("mandatory"),
  cloudRunServiceAccount("mandatory"),
  cloudRunMaxInstances("mandatory"),
  iamDataRoleScope("mandatory"),
  workloadsOwnServiceAccount("mandatory"),
  imageByDigest("mandatory"),
  containerResources("mandatory"),
  runAsNonRoot("mandatory"),
  readOnlyRootFilesystem("mandatory"),
  noPrivilegeEscalation("mandatory"),
  dropCapabilities("mandatory"),
  notDefaultNamespace("mandatory"),
  probes("mandatory"),
  hpaMaxReplicas("mandatory"),
  deploymentHasHpa("mandatory"),
  // Mandatory unless a stack's config disables it (dev).
  firestoreDeleteProtection("mandatory"),
  firestoreReplayIndexes("mandatory"),
  requiredLabels("advisory"),
];
