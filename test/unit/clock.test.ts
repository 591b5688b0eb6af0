import { formatInTimeZone } from "date-fns-tz";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUSINESS_TZ, businessDate } from "../../src/lib/clock.js";

const byLibrary = (d: Date) => formatInTimeZone(d, BUSINESS_TZ, "yyyy-MM-dd");

describe("businessDate", () => {
  it("is the date in Asia/Shanghai the time-zone library gives, for any instant", () => {
    const instant = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(9999, 11, 31) }).map((t) => new Date(t));
    fc.assert(
      fc.property(instant, (d) => {
        expect(businessDate(d)).toBe(byLibrary(d));
      }),
      { numRuns: 5000, seed: 20261201 },
    );
  });

  it("turns at midnight in Shanghai (16:00 UTC), and kept daylight saving before 1992 as the library does", () => {
    expect(businessDate(new Date("2026-12-01T15:59:59.999Z"))).toBe("2026-12-01");
    expect(businessDate(new Date("2026-12-01T16:00:00.000Z"))).toBe("2026-12-02");
    expect(businessDate(new Date("1991-12-31T15:59:59.999Z"))).toBe("1991-12-31");
    expect(businessDate(new Date("1991-12-31T16:00:00.000Z"))).toBe("1992-01-01");
    // Summer 1988 was UTC+9 in Shanghai: 15:30 UTC was already the next day.
    const summer1988 = new Date("1988-07-01T15:30:00Z");
    expect(businessDate(summer1988)).toBe(byLibrary(summer1988));
    for (const edge of [Date.UTC(1992, 0, 1) - 1, Date.UTC(1992, 0, 1), Date.UTC(9999, 0, 1) - 1, Date.UTC(9999, 0, 1)]) {
      expect(businessDate(new Date(edge))).toBe(byLibrary(new Date(edge)));
    }
    expect(() => businessDate(new Date(Number.NaN))).toThrow();
  });
});
