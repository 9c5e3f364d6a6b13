import { ValidationError } from "../../errors.js";
import { errorMessage } from "../../runtime/describe.js";
import { assertJson } from "../../runtime/json.js";
import { encodeJson } from "./wire.js";

/**
 * The JSON bytes of a payload about to cross the wire, after checking that it is JSON data
 * (what `createTestSystem` checks in-process): a value JSON would change on the way (`NaN`, a
 * `Date`, a class instance) or cannot encode (a `BigInt`, a cycle) is refused with a
 * `ValidationError` instead of arriving altered or failing as a TypeError. `undefined` is the
 * empty payload.
 * @throws ValidationError
 * @internal
 */
export function encodePayload(value: unknown, what: string): Uint8Array {
  if (value === undefined) return encodeJson(value);
  try {
    assertJson(value, what);
    return encodeJson(value);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    // A Proxy whose traps throw, a throwing toJSON: the value cannot be sent either way.
    throw new ValidationError(`${what} cannot be encoded as JSON: ${errorMessage(error)}`, [{ path: [], message: errorMessage(error) }], { cause: error });
  }
}
