/** The staff password policy: what a new or changed password must be, with a clear 422 naming each rule it breaks. */
import { AppError, registerErrorCodes } from "../../http/errors.js";
import { textIn } from "../../lib/i18n.js";

registerErrorCodes({
  WEAK_PASSWORD: {
    status: 422,
    title: { zh: "密码强度不足", en: "Password too weak" },
    description: { zh: "密码不符合密码策略；`errors` 逐条列出违反的规则。", en: "The password breaks the password policy; `errors` names each rule it breaks." },
  },
});

export const PASSWORD_MIN_LENGTH = 10;

/**
 * Passwords guessed first (lists of leaked passwords, keyboard walks, the product's own names and
 * the published demo password). Compared without case; a password containing the username is
 * refused separately.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  "password1", "password12", "password123", "password1234", "passw0rd123", "p@ssw0rd123",
  "1234567890", "12345678910", "0123456789", "qwerty1234", "qwertyuiop1", "1qaz2wsx3edc", "1q2w3e4r5t",
  "abc1234567", "abcd123456", "a123456789", "aa12345678", "iloveyou123", "admin12345", "admin123456",
  "woaini1314", "woaini5201314", "5201314520", "huinong2026", "huinong-2026", "huinong123", "huinong1234",
  "welcome123", "changeme123", "letmein123", "test123456", "qazwsxedc123",
]);

/** The rules a password breaks, each written "中文 / English" (empty: it is acceptable). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if ([...password].length < PASSWORD_MIN_LENGTH) problems.push(`至少 ${PASSWORD_MIN_LENGTH} 个字符 / at least ${PASSWORD_MIN_LENGTH} characters`);
  if (!/\p{L}/u.test(password) || !/\p{Nd}/u.test(password)) problems.push("至少一个字母和一个数字 / at least one letter and one digit");
  const lower = password.toLowerCase();
  if (username && lower.includes(username.toLowerCase())) problems.push("不能包含用户名 / must not contain the username");
  if (COMMON_PASSWORDS.has(lower)) problems.push("是常用密码 / is a commonly used password");
  return problems;
}

/** The 422 naming each broken rule; `problems` are written "中文 / English" (or English only). */
export function weakPassword(path: string, problems: string[]): AppError {
  const parts = problems.map((p) => textIn(p, "zh") ?? p);
  const partsEn = problems.map((p) => textIn(p, "en") ?? p);
  return new AppError(
    "WEAK_PASSWORD",
    { zh: `密码不符合密码策略：${parts.join("；")}`, en: `The password breaks the policy: ${partsEn.join("; ")}` },
    problems.map((message) => ({ path, message })),
  );
}
