import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkCharacter, makeIdNumber, parseIdNumber } from "../../src/lib/id-number.js";

describe("parseIdNumber (GB 11643)", () => {
  it("accepts the standard's example and reads the division, birth date and sex from it", () => {
    expect(parseIdNumber("11010519491231002X")).toEqual({
      ok: true,
      info: { value: "11010519491231002X", divisionCode: "110105", birthDate: "1949-12-31", sex: "F" },
    });
    const man = makeIdNumber("469030", "1980-05-17", 11);
    expect(parseIdNumber(man)).toMatchObject({ ok: true, info: { birthDate: "1980-05-17", sex: "M", divisionCode: "469030" } });
  });

  it("accepts a lower-case x and normalises it to X (and ignores surrounding spaces)", () => {
    expect(parseIdNumber("11010519491231002x")).toMatchObject({ ok: true, info: { value: "11010519491231002X" } });
    expect(parseIdNumber(" 11010519491231002X ")).toMatchObject({ ok: true, info: { value: "11010519491231002X" } });
  });

  it("refuses a wrong check digit", () => {
    expect(parseIdNumber("110105194912310021")).toEqual({ ok: false, problem: "CHECK_DIGIT" });
    expect(parseIdNumber("110105194912310020")).toEqual({ ok: false, problem: "CHECK_DIGIT" });
    const good = makeIdNumber("469030", "1980-05-17", 11);
    const other = good[17] === "X" ? "0" : good[17] === "9" ? "X" : String(Number(good[17]) + 1);
    expect(parseIdNumber(good.slice(0, 17) + other)).toEqual({ ok: false, problem: "CHECK_DIGIT" });
  });

  it("refuses birth dates that are not real dates, even with a matching check digit", () => {
    for (const date of ["1980-02-30", "1981-02-29", "1900-02-29", "1980-13-01", "1980-00-10", "1980-04-31", "1980-01-00", "1899-12-31"]) {
      expect({ date, r: parseIdNumber(makeIdNumber("469030", date, 11)) }).toEqual({ date, r: { ok: false, problem: "BIRTH_DATE" } });
    }
    expect(parseIdNumber(makeIdNumber("469030", "2000-02-29", 11)).ok).toBe(true);
    // The standard's own 1880 example predates the register's rule (births from 1900 on).
    expect(parseIdNumber("440524188001010014")).toEqual({ ok: false, problem: "BIRTH_DATE" });
  });

  it("refuses the wrong length and characters out of place", () => {
    for (const raw of ["", "11010519491231002", "11010519491231002X1", "1101051949123100XX", "X10105194912310021", "11010519491231002Y", "110105 19491231002X", "１１０１０５１９４９１２３１００２X"]) {
      expect({ raw, r: parseIdNumber(raw) }).toEqual({ raw, r: { ok: false, problem: "FORMAT" } });
    }
  });

  it("detects every single-character error in the first 17 digits (property)", () => {
    const date = fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2024-12-31T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    fc.assert(
      fc.property(date, fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 9 }), (birth, seq, pos, delta) => {
        const id = makeIdNumber("469030", birth, seq);
        expect(parseIdNumber(id).ok).toBe(true);
        const changed = id.slice(0, pos) + String((Number(id[pos]) + delta) % 10) + id.slice(pos + 1);
        expect(parseIdNumber(changed).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it("computes the ISO 7064 MOD 11-2 check character", () => {
    expect(checkCharacter("11010519491231002")).toBe("X");
    expect(checkCharacter("44052418800101001")).toBe("4");
  });
});
