/**
 * Kubernetes resource quantities ("200m", "0.5", "256Mi", "1G"), parsed just far
 * enough to compare requests with limits at load time.
 */
const suffixes: Record<string, number> = {
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const quantityPattern = /^(\d+(?:\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/** The quantity's value in base units (cores, bytes), or undefined when it does not parse. */
export function parseQuantity(quantity: string): number | undefined {
  const match = quantityPattern.exec(quantity);
  if (!match) return undefined;
  return Number(match[1]) * suffixes[match[2] ?? ""]!;
}
