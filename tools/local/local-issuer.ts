/**
 * The local stand-in for Google's ID tokens, so that `npm start`'s gateway authenticates
 * producers as the cloud's does: an RS256 key kept in `.eventline/issuer.json` (made on first
 * use, readable only by its owner), tokens for each declared producer's local identity
 * (`<producer>@producers.eventline.local`, what `eventline token <producer>` prints), and the
 * gateway's authentication that trusts exactly this key.
 */
import { randomUUID } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";
import { tokenAuthentication, type Authenticate } from "../../handlers/gateway/admission";
import { idTokenVerifier } from "../../handlers/runtime/oidc";
import type { ResolvedProducer } from "../../infra/model/types";

/** Where the local key lives. */
export const ISSUER_FILE = join(__dirname, "..", "..", ".eventline", "issuer.json");
/** The `iss` of local tokens. */
export const LOCAL_ISSUER = "https://issuer.eventline.local";
/** The `aud` the local gateway expects. */
export const LOCAL_GATEWAY_AUDIENCE = "eventline://local/gateway";
/** How long a local token lasts, in seconds: an hour, as Google's. */
const TOKEN_LIFETIME_SECONDS = 3600;

/** The local identity of a producer: the email its local tokens carry. */
export function localProducerEmail(producer: string): string {
  return `${producer}@producers.eventline.local`;
}

interface StoredKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export interface LocalIssuer {
  /** A token for `producer`'s local identity. */
  token(producer: string): Promise<string>;
  /** The gateway's authentication: the tokens of this issuer, for the declared producers. */
  authentication(producers: readonly ResolvedProducer[]): Authenticate;
  /** The issuer's public keys as a JWKS document, for a gateway told to fetch them (TOKEN_JWKS_URL). */
  jwks(): { keys: JWK[] };
}

async function storedKey(file: string): Promise<StoredKey> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as StoredKey;
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomUUID();
  const key: StoredKey = {
    kid,
    privateJwk: await exportJWK(privateKey),
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
  };
  mkdirSync(dirname(file), { recursive: true });
  // Written aside, then linked into place: two processes starting at once (npm start and
  // `eventline token`) end up with the one key, and neither reads a half-written file.
  const aside = `${file}.${process.pid}.${kid}`;
  writeFileSync(aside, JSON.stringify(key), { mode: 0o600 });
  try {
    linkSync(aside, file);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return JSON.parse(readFileSync(file, "utf8")) as StoredKey;
  } finally {
    rmSync(aside, { force: true });
  }
}

/** The local issuer, its key read from (or made in) `file`. */
export async function localIssuer(file: string = ISSUER_FILE): Promise<LocalIssuer> {
  const key = await storedKey(file);
  const signing = await importJWK(key.privateJwk, "RS256");
  return {
    jwks: () => ({ keys: [key.publicJwk] }),
    token: (producer) => {
      const email = localProducerEmail(producer);
      return new SignJWT({ email, email_verified: true })
        .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
        .setIssuer(LOCAL_ISSUER)
        .setAudience(LOCAL_GATEWAY_AUDIENCE)
        .setSubject(email)
        .setIssuedAt()
        .setExpirationTime(`${TOKEN_LIFETIME_SECONDS}s`)
        .sign(signing);
    },
    authentication: (producers) =>
      tokenAuthentication(
        producers,
        Object.fromEntries(
          producers.map((producer) => [producer.name, localProducerEmail(producer.name)]),
        ),
        idTokenVerifier({
          audience: LOCAL_GATEWAY_AUDIENCE,
          issuer: LOCAL_ISSUER,
          jwks: { keys: [key.publicJwk] },
          requireVerifiedEmail: true,
        }),
        "locally: npx eventline token <producer>",
      ),
  };
}
