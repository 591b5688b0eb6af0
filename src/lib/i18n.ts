/**
 * The two languages of the platform's answers: Chinese (zh-CN) by default, English on request
 * (`Accept-Language: en`). Text people read is written in both, as `{ zh, en }`, or as one string
 * "中文 / English" (the Chinese part first), which `textIn` splits.
 */
export type Lang = "zh" | "en";
export const DEFAULT_LANG: Lang = "zh";

/** A text in both languages. */
export interface Bilingual {
  zh: string;
  en: string;
}

const CJK = /[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]/;

/** Whether a text has Chinese characters in it. */
export const hasChinese = (s: string): boolean => CJK.test(s);

/**
 * The language a one-language text is written in: that of its first letter (an English sentence
 * may quote a Chinese term, "户贷企用 is banned", and still be English).
 */
export function writtenIn(s: string): Lang {
  const first = /\p{L}/u.exec(s)?.[0];
  return first !== undefined && CJK.test(first) ? "zh" : "en";
}

/**
 * "中文 / English" split at the first " / " whose left side is Chinese and right side is not; a
 * text that is not in that form is undefined.
 */
export function splitBilingual(s: string): Bilingual | undefined {
  let at = s.indexOf(" / ");
  while (at >= 0) {
    const zh = s.slice(0, at).trim();
    const en = s.slice(at + 3).trim();
    if (zh && en && hasChinese(zh) && !hasChinese(en.slice(0, 1))) return { zh, en };
    at = s.indexOf(" / ", at + 3);
  }
  return undefined;
}

/** Several messages as one, in each language (Chinese joined by "；", English by "; "): a list of problems as one detail. */
export function joinedMessages(messages: readonly { message: Bilingual }[]): Bilingual {
  return { zh: messages.map((m) => m.message.zh).join("；"), en: messages.map((m) => m.message.en).join("; ") };
}

export function isBilingual(x: unknown): x is Bilingual {
  return typeof x === "object" && x !== null && typeof (x as Bilingual).zh === "string" && typeof (x as Bilingual).en === "string";
}

/**
 * A text in one language: `{ zh, en }` picks; "中文 / English" splits; any other string is what it
 * is in the language it is written in, and `fallback` (the catalogue's text) in the other.
 */
export function textIn(text: string | Bilingual | undefined, lang: Lang, fallback?: Bilingual): string | undefined {
  if (text === undefined) return fallback?.[lang];
  if (isBilingual(text)) return text[lang];
  const both = splitBilingual(text);
  if (both) return both[lang];
  return writtenIn(text) === lang || !fallback ? text : fallback[lang];
}

/**
 * The language an `Accept-Language` header asks for: English when it prefers any `en` tag over
 * Chinese, Chinese otherwise (no header, `*`, `zh`, `zh-CN`, or a language the platform does not speak).
 * `accepts` is Express's `req.acceptsLanguages` (the `negotiator` parser): given the languages the
 * platform offers, it answers the best one the client accepts, or false.
 */
export function langOf(header: string | undefined, accepts: (...langs: string[]) => string | false): Lang {
  if (!header || header.trim() === "") return DEFAULT_LANG;
  const best = accepts("zh-CN", "zh", "en");
  return best === "en" ? "en" : DEFAULT_LANG;
}
