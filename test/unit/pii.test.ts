import { describe, expect, it } from "vitest";
import { maskBankAccount, maskIdNumber, maskName, maskPhone, Pii } from "../../src/lib/pii.js";

const pii = new Pii({ encKey: Buffer.alloc(32, 1), hashKey: Buffer.alloc(32, 2) });

describe("masks", () => {
  it("shows an ID number's division code and last four only", () => {
    expect(maskIdNumber("46903019800517123X")).toBe("469030********123X");
    expect(maskIdNumber("110105194912310021")).toBe("110105********0021");
    expect(maskIdNumber("12345")).toBe("*****");
  });

  it("shows a phone's first three and last four", () => {
    expect(maskPhone("13812345678")).toBe("138****5678");
    expect(maskPhone("138 1234 5678")).toBe("138****5678");
    expect(maskPhone("0898123456")).toBe("089***3456");
    expect(maskPhone("1234567")).toBe("***4567");
    expect(maskPhone("1234")).toBe("****");
  });

  it("shows a bank account's BIN prefix and last four", () => {
    expect(maskBankAccount("6217001234567890123")).toBe("6217***********0123");
    expect(maskBankAccount("6217 0012 3456 7890 123")).toBe("6217***********0123");
    expect(maskBankAccount("12345678")).toBe("****5678");
  });

  it("shows a name's family name and, from three characters, its last", () => {
    expect(maskName("张三")).toBe("张*");
    expect(maskName("王建国")).toBe("王*国");
    expect(maskName("欧阳娜娜")).toBe("欧**娜");
    expect(maskName("李")).toBe("李");
    expect(maskName("𠮷野家")).toBe("𠮷*家");
  });
});

describe("Pii encryption and lookup hash", () => {
  it("round-trips a value and never stores it readable", () => {
    const id = "46903019800517123X";
    const sealed = pii.encrypt(id);
    expect(sealed).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(sealed).not.toContain(id);
    expect(pii.decrypt(sealed)).toBe(id);
    expect(pii.decrypt(pii.encrypt("琼中县营根镇 新市村"))).toBe("琼中县营根镇 新市村");
    expect(pii.decrypt(pii.encrypt(""))).toBe("");
  });

  it("encrypts the same value differently each time (random IV)", () => {
    expect(pii.encrypt("13812345678")).not.toBe(pii.encrypt("13812345678"));
  });

  it("refuses a tampered envelope and another key", () => {
    const sealed = pii.encrypt("6217001234567890123");
    const [v, iv, tag, ct] = sealed.split(".");
    const flipped = Buffer.from(ct, "base64url");
    flipped[0] ^= 1;
    expect(() => pii.decrypt([v, iv, tag, flipped.toString("base64url")].join("."))).toThrow();
    expect(() => pii.decrypt(`v2.${iv}.${tag}.${ct}`)).toThrow(/envelope/);
    const other = new Pii({ encKey: Buffer.alloc(32, 3), hashKey: Buffer.alloc(32, 2) });
    expect(() => other.decrypt(sealed)).toThrow();
  });

  it("hashes for lookup deterministically, keyed", () => {
    const h = pii.lookupHash("46903019800517123X");
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(pii.lookupHash("46903019800517123X")).toBe(h);
    expect(pii.lookupHash("469030198005171238")).not.toBe(h);
    expect(new Pii({ encKey: Buffer.alloc(32, 1), hashKey: Buffer.alloc(32, 4) }).lookupHash("46903019800517123X")).not.toBe(h);
  });

  it("needs 32-byte keys", () => {
    expect(() => new Pii({ encKey: Buffer.alloc(16), hashKey: Buffer.alloc(32) })).toThrow(/32 bytes/);
  });
});
