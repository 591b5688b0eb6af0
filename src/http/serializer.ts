import fastJson, { type ObjectSchema } from "fast-json-stringify";
import { z } from "./zod.js";

/**
 * A serializer compiled (fast-json-stringify) from the JSON Schema of an answer's zod schema: for a
 * value of the schema whose fields come in the schema's order — as the reads build them — it
 * writes the same text as `JSON.stringify`, without walking the value generically. Meant for hot
 * answers; the equality is checked by test/unit/serializer.test.ts.
 */
export function compiledJson<S extends z.ZodObject>(schema: S): (value: z.output<S>) => string {
  const { $schema: _draft, ...json } = z.toJSONSchema(schema, { io: "output" });
  return fastJson(json as ObjectSchema) as (value: z.output<S>) => string;
}
