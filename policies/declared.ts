/**
 * What the declaration (infra/system.ts) says the policies must know: which Cloud Run services
 * are public, and why. A public service is one the declaration opens on purpose; the rules
 * refuse any other, so a stray allUsers grant or an ingress left at its default cannot open a
 * service nobody decided to open.
 */
import { resolveSystem } from "../infra/model/resolve";
import { system } from "../infra/system";

/** Declared public services: Cloud Run service name → the declared reason. */
export type PublicServices = ReadonlyMap<string, string>;

/** The public services infra/system.ts declares. */
export function declaredPublicServices(): PublicServices {
  const { services } = resolveSystem(system);
  return new Map(
    Object.values(services).flatMap((service) =>
      service.publicReason === undefined ? [] : [[service.name, service.publicReason] as const],
    ),
  );
}
