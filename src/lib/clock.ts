import { formatInTimeZone } from "date-fns-tz";

export const BUSINESS_TZ = "Asia/Shanghai";

/** The one source of "now". Tests inject a fixed or movable clock so business dates are fixed. */
export interface Clock {
  now(): Date;
  /** Today's business date in Asia/Shanghai, `YYYY-MM-DD`. */
  today(): string;
}

export function businessDate(at: Date): string {
  return formatInTimeZone(at, BUSINESS_TZ, "yyyy-MM-dd");
}

export const systemClock: Clock = {
  now: () => new Date(),
  today: () => businessDate(new Date()),
};

/** A clock that stays where it is set: `set("2025-03-20")` puts it at noon of that business day. */
export class FixedClock implements Clock {
  private at: Date;
  constructor(at: Date | string = new Date()) {
    this.at = typeof at === "string" ? FixedClock.noon(at) : at;
  }
  static noon(date: string): Date {
    return new Date(`${date}T12:00:00+08:00`);
  }
  set(at: Date | string): void {
    this.at = typeof at === "string" ? FixedClock.noon(at) : at;
  }
  advanceDays(days: number): void {
    this.at = new Date(this.at.getTime() + days * 86_400_000);
  }
  now(): Date {
    return new Date(this.at.getTime());
  }
  today(): string {
    return businessDate(this.at);
  }
}
