/**
 * The signing secret hooks use where none is set locally (MODE=local), and `eventline hooks
 * listen` verifies with by default: a local value, like the emulators' project id, never a
 * stack's. A module of its own so that the CLI can read it without loading the adapters.
 */
export const LOCAL_HOOK_SIGNING_SECRET = "whsec_bG9jYWwtZXZlbnRsaW5lLWhvb2tzLXNpZ25pbmc=";
