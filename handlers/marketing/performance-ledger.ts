/**
 * A campaign's reported performance, kept per reporting window. Ad platforms report hourly
 * and daily windows, and restate a window when late data arrives; the ledger keys each
 * report by its window, so a restated or redelivered report replaces the earlier figures
 * instead of adding to them, and a day reported both hourly and daily is not counted twice:
 * the daily report, which the platform closes last, wins over the sum of the hours.
 *
 * Days and hours are UTC (ISO dates), which is what window_start carries.
 */

/** Delivery totals of a window, a day or a flight. Money is in the account currency. */
export interface Totals {
  impressions: number;
  clicks: number;
  conversions: number;
  spend: number;
}

/** One UTC day: its daily report, if any, and its hourly reports by hour ("00".."23"). */
export interface DayLedger {
  daily?: Totals;
  hours: Record<string, Totals>;
}

/** Days by ISO date (YYYY-MM-DD). */
export type Ledger = Record<string, DayLedger>;

export type ReportWindow = "hourly" | "daily";

export const ZERO_TOTALS: Readonly<Totals> = {
  impressions: 0,
  clicks: 0,
  conversions: 0,
  spend: 0,
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Where one report goes in the ledger: its day, its hour (hourly reports only), and its span. */
export interface WindowKey {
  window: ReportWindow;
  /** YYYY-MM-DD (UTC). */
  day: string;
  /** "00".."23" for an hourly window. */
  hour?: string;
  /** Start of the window (truncated to the hour or the day). */
  start: Date;
  /** End of the window, exclusive. */
  end: Date;
}

/**
 * The ledger slot of a report whose window starts at `windowStart` (any instant inside the
 * window: it is truncated to the hour or the day).
 * @throws RangeError when windowStart is not a date.
 */
export function windowKey(window: ReportWindow, windowStart: string): WindowKey {
  const at = Date.parse(windowStart);
  if (Number.isNaN(at))
    throw new RangeError(`window_start ${JSON.stringify(windowStart)} is not an ISO 8601 date`);
  const dayStart = Math.floor(at / DAY_MS) * DAY_MS;
  const day = new Date(dayStart).toISOString().slice(0, 10);
  if (window === "daily")
    return { window, day, start: new Date(dayStart), end: new Date(dayStart + DAY_MS) };
  const hourStart = Math.floor(at / HOUR_MS) * HOUR_MS;
  const hour = new Date(hourStart).toISOString().slice(11, 13);
  return { window, day, hour, start: new Date(hourStart), end: new Date(hourStart + HOUR_MS) };
}

/** The ledger with one report recorded in its window's slot (replacing what the slot held). */
export function recordWindow(ledger: Readonly<Ledger>, key: WindowKey, totals: Totals): Ledger {
  const day: DayLedger = ledger[key.day] ?? { hours: {} };
  const next: DayLedger =
    key.window === "daily"
      ? { ...day, daily: { ...totals } }
      : { ...day, hours: { ...day.hours, [key.hour!]: { ...totals } } };
  return { ...ledger, [key.day]: next };
}

/** The sum of some totals. */
export function sumTotals(parts: Iterable<Readonly<Totals>>): Totals {
  const sum = { ...ZERO_TOTALS };
  for (const part of parts) {
    sum.impressions += part.impressions;
    sum.clicks += part.clicks;
    sum.conversions += part.conversions;
    sum.spend += part.spend;
  }
  return sum;
}

/** A day's totals: its daily report when there is one, else the sum of its hours. */
export function dayTotals(day: Readonly<DayLedger>): Totals {
  return day.daily !== undefined ? { ...day.daily } : sumTotals(Object.values(day.hours));
}

/** The totals of every day in the ledger. */
export function ledgerTotals(ledger: Readonly<Ledger>): Totals {
  return sumTotals(Object.values(ledger).map(dayTotals));
}
