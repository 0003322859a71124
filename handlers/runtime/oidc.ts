/**
 * Verifies a Google-signed ID token (`Authorization: Bearer <JWT>`): signed by a key in
 * Google's JWKS, issued by `https://accounts.google.com`, for the expected audience, not
 * expired, and, when asked, on behalf of one service account (`email` claim, with
 * `email_verified`). Pub/Sub puts one on every push request (the push host answers 401,
 * which Pub/Sub treats as a nack); producers put one on every request to the gateway, which
 * answers 401. Anything else is refused with the check that failed.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from "jose";

/** Where Google publishes the keys that sign its ID tokens. */
export const GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs";

/** The issuer of the tokens Pub/Sub push sends. */
export const GOOGLE_ISSUER = "https://accounts.google.com";

export interface IdTokenOptions {
  /** The `aud` the token must carry: the subscription's `oidcToken.audience` (PUSH_AUDIENCE). */
  audience: string;
  /**
   * The `email` the token must carry: the service account the subscription pushes as
   * (PUSH_SERVICE_ACCOUNT). Default: any verified email (the audience alone then binds the token).
   */
  serviceAccountEmail?: string;
  /** The signing keys: a JWKS URL, or a key set (tests). Default: Google's, {@link GOOGLE_JWKS_URL}. */
  jwks?: URL | JSONWebKeySet;
  /** The `iss` the token must carry. Default {@link GOOGLE_ISSUER}. */
  issuer?: string;
  /** Refuse a token whose `email` is not verified, even with no account pinned. Default false. */
  requireVerifiedEmail?: boolean;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Default 30. */
  clockToleranceSeconds?: number;
}

/** A request whose token does not verify; the message says which check failed. */
export class UnauthorizedError extends Error {
  override readonly name = "UnauthorizedError";
}

/** The identity a verified token proves. */
export interface TokenIdentity {
  email: string | undefined;
  subject: string | undefined;
}

export type IdTokenVerifier = (authorization: string | undefined) => Promise<TokenIdentity>;

/** A verifier for the Authorization header of a request. */
export function idTokenVerifier(options: IdTokenOptions): IdTokenVerifier {
  const source = options.jwks ?? new URL(GOOGLE_JWKS_URL);
  const keys = source instanceof URL ? createRemoteJWKSet(source) : createLocalJWKSet(source);
  const issuer = options.issuer ?? GOOGLE_ISSUER;
  return async (authorization) => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (match === null) throw new UnauthorizedError("no bearer token in the Authorization header");
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, keys, {
        issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds ?? 30,
        requiredClaims: ["exp", "iat"],
      }));
    } catch (err) {
      // A key set that cannot be fetched says nothing about the token: the push host answers 503.
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) throw err;
      throw new UnauthorizedError(`token rejected: ${err.message}`, { cause: err });
    }
    const email = typeof payload["email"] === "string" ? payload["email"] : undefined;
    if (options.serviceAccountEmail !== undefined) {
      if (email !== options.serviceAccountEmail)
        throw new UnauthorizedError(
          `token is for ${email ?? "no email"}, not ${options.serviceAccountEmail}`,
        );
      if (payload["email_verified"] !== true)
        throw new UnauthorizedError(`the email ${email} in the token is not verified`);
    }
    if (
      options.requireVerifiedEmail === true &&
      (email === undefined || payload["email_verified"] !== true)
    ) {
      throw new UnauthorizedError(
        email === undefined
          ? "the token carries no email"
          : `the email ${email} in the token is not verified`,
      );
    }
    return { email, subject: payload.sub };
  };
}
