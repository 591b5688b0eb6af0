/**
 * Resident ID numbers (公民身份号码, GB 11643-1999): 6-digit division code, 8-digit birth date,
 * 3-digit sequence (odd for men, even for women), and an ISO 7064 MOD 11-2 check character.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = "10X98765432";

export type IdNumberProblem = "FORMAT" | "BIRTH_DATE" | "CHECK_DIGIT";

export interface IdNumberInfo {
  /** Normalised form: upper-case X. */
  value: string;
  divisionCode: string;
  birthDate: string;
  sex: "M" | "F";
}

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARS[sum % 11];
}

function isRealDate(y: number, m: number, d: number): boolean {
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/**
 * Validates an ID number. A lower-case `x` is accepted and normalised to `X` (people type it
 * that way; the standard writes X). The birth date must be a real date from 1900 on.
 */
export function parseIdNumber(raw: string): { ok: true; info: IdNumberInfo } | { ok: false; problem: IdNumberProblem } {
  const value = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(value)) return { ok: false, problem: "FORMAT" };
  const y = Number(value.slice(6, 10));
  const m = Number(value.slice(10, 12));
  const d = Number(value.slice(12, 14));
  if (y < 1900 || !isRealDate(y, m, d)) return { ok: false, problem: "BIRTH_DATE" };
  if (checkCharacter(value.slice(0, 17)) !== value[17]) return { ok: false, problem: "CHECK_DIGIT" };
  return {
    ok: true,
    info: {
      value,
      divisionCode: value.slice(0, 6),
      birthDate: `${value.slice(6, 10)}-${value.slice(10, 12)}-${value.slice(12, 14)}`,
      sex: Number(value[16]) % 2 === 1 ? "M" : "F",
    },
  };
}

export const ID_NUMBER_PROBLEM_TEXT: Record<IdNumberProblem, string> = {
  FORMAT: "must be 18 characters: 17 digits and a check digit (0-9 or X)",
  BIRTH_DATE: "the birth date inside the ID number is not a real date",
  CHECK_DIGIT: "the check digit does not match (GB 11643 / ISO 7064 MOD 11-2)",
};

/** Builds a valid ID number (demo data and tests). `seq` is 0-999; its parity sets the sex. */
export function makeIdNumber(divisionCode: string, birthDate: string, seq: number): string {
  const first17 = `${divisionCode}${birthDate.replaceAll("-", "")}${String(seq).padStart(3, "0")}`;
  return first17 + checkCharacter(first17);
}

/** The same problems in Chinese, for the people who fix a register file. */
export const ID_NUMBER_PROBLEM_TEXT_ZH: Record<IdNumberProblem, string> = {
  FORMAT: "证件号码应为18位：17位数字加1位校验码（0-9或X）",
  BIRTH_DATE: "证件号码中的出生日期不是有效日期",
  CHECK_DIGIT: "证件号码校验码不符（GB 11643，ISO 7064 MOD 11-2）",
};
