import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compiledJson } from "../../src/http/serializer.js";
import { z } from "../../src/http/zod.js";
import { PortalDividends, PortalSummary } from "../../src/modules/portal/schemas.js";

/**
 * A compiled serializer writes the same text as JSON.stringify for any value of its schema whose
 * fields come in the schema's order: strings of every kind (Chinese, quotes, backslashes, control
 * characters, lone surrogates, long ones), nulls, integers, booleans and free-form values.
 */
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }), // lone surrogates included
  fc.constantFrom("", "贫困户；基础权重；2人", 'a "quoted" \\ word', "line\nbreak\ttab\u0000", "\ud800", "x".repeat(5000), "é".repeat(50)),
);
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const asset = fc.record({ id: fc.uuid(), name: text, asset_type: fc.constantFrom("PHOTOVOLTAIC", "PLANTING") });

const dividend = fc.record({
  distribution_id: fc.uuid(),
  scope: fc.constantFrom("ASSET", "VILLAGE"),
  assets: fc.array(asset, { maxLength: 3 }),
  village_code: text,
  period: text,
  reference_date: text,
  weight: text,
  members: fc.integer({ min: 0, max: 50 }),
  multiplier: text,
  eligibility: text,
  multiplier_reason: nullable(text),
  transition_ends: nullable(text),
  why: text,
  amount: text,
  capped: fc.boolean(),
  status: text,
  paid_on: nullable(text),
});
const dividends = fc.record({ items: fc.array(dividend, { maxLength: 6 }), next_cursor: fc.constant(null) });
const summary = fc.record({
  year: fc.integer({ min: 2000, max: 2100 }),
  items: fc.array(fc.record({ kind: text, label_zh: text, amount: text }), { maxLength: 4 }),
  total: text,
});

describe("compiled serializers", () => {
  it("write the portal's dividends exactly as JSON.stringify does", () => {
    const json = compiledJson(PortalDividends);
    fc.assert(
      fc.property(dividends, (v) => {
        expect(json(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 300, seed: 20261201 },
    );
  });

  it("write the portal's summary exactly as JSON.stringify does", () => {
    const json = compiledJson(PortalSummary);
    fc.assert(
      fc.property(summary, (v) => {
        expect(json(v)).toBe(JSON.stringify(v));
      }),
      { numRuns: 300, seed: 20261201 },
    );
  });

  it("write free-form values (z.unknown) and numbers as JSON.stringify does", () => {
    const json = compiledJson(z.object({ any: z.unknown(), n: z.number(), list: z.array(z.unknown()) }));
    fc.assert(
      fc.property(fc.jsonValue(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.array(fc.jsonValue(), { maxLength: 4 }), (any, n, list) => {
        expect(json({ any, n, list })).toBe(JSON.stringify({ any, n, list }));
      }),
      { numRuns: 200, seed: 20261201 },
    );
  });
});
