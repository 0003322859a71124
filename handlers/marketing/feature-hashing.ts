/**
 * The creative embedding: the hashing trick (Weinberger, Dasgupta, Langford, Smola, Attenberg,
 * "Feature Hashing for Large Scale Multitask Learning", ICML 2009). Each token adds ±1 to the
 * coordinate its hash picks; the sign, taken from another bit of the hash, makes colliding
 * tokens cancel on average instead of piling up. The vector is then L2-normalised so that
 * cosine similarity between creatives is a dot product.
 *
 * The hash is 32-bit FNV-1a over the token's UTF-8 bytes (Fowler, Noll, Vo; IETF
 * draft-eastlake-fnv): fixed, seedless and the same on every machine, so a creative's
 * embedding never changes between runs, replicas or replays.
 */

/**
 * Coordinates of the embedding: 64. A genome's 10–20 tokens will share a few coordinates; the
 * sign hash makes such collisions cancel on average instead of adding up, and the vector stays
 * small enough to store with every creative.
 */
export const EMBEDDING_DIMENSIONS = 64;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** 32-bit FNV-1a of a string's UTF-8 bytes, as an unsigned integer. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

/** Where a token lands: coordinate = low 31 bits mod dimensions; sign = the top bit (set → −1). */
export function hashedFeature(
  token: string,
  dimensions = EMBEDDING_DIMENSIONS,
): { index: number; sign: 1 | -1 } {
  const hash = fnv1a32(token);
  return { index: (hash & 0x7fffffff) % dimensions, sign: hash & 0x80000000 ? -1 : 1 };
}

/**
 * The L2-normalised hashed vector of some tokens (repeats count); all zeros when the tokens
 * cancel out or there are none.
 */
export function hashedEmbedding(
  tokens: readonly string[],
  dimensions = EMBEDDING_DIMENSIONS,
): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const token of tokens) {
    const { index, sign } = hashedFeature(token, dimensions);
    vector[index]! += sign;
  }
  const norm = Math.hypot(...vector);
  return norm === 0 ? vector : vector.map((x) => x / norm);
}
