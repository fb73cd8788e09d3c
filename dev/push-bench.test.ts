/** The push bench runs and every push it sends is delivered (the rate itself is reported, not asserted). */
import { expect, it } from "vitest";
import { benchPushes } from "./push-bench";

it("sends pushes to the local push service and reports the rate", async () => {
  let clock = 0;
  // workerd's clock stands still during a request; a counting clock keeps the arithmetic honest here.
  const result = await benchPushes(24, 4, () => (clock += 1));
  expect(result).toMatchObject({ sent: 24, delivered: 24 });
  expect(result.perSecond).toBeGreaterThan(0);
  expect(result.p99).toBeGreaterThanOrEqual(result.p50);
});
