import { describe, expect, it } from "vitest";
import { connectRefusal } from "./remote-errors";

describe("connectRefusal: a CONNECT_ERROR name to the seed's outcome", () => {
  it.each([
    ["access_token_expired", { outcome: "token_failed", error: "token_expired" }],
    ["access_token_invalid", { outcome: "token_failed", error: "token_invalid" }],
    ["access_token_invalid_signature", { outcome: "token_failed", error: "token_invalid" }],
    ["access_token_invalid_user", { outcome: "token_failed", error: "token_invalid" }],
    ["user_not_found", { outcome: "token_failed", error: "user_not_found" }],
    ["sdk_version_invalid", { outcome: "session_ends", reason: "unsupported_version" }],
    ["sdk_version_unsupported", { outcome: "session_ends", reason: "unsupported_version" }],
    ["invalid_access_link", { outcome: "session_ends", reason: "invalid_access_link" }],
    ["app_id_invalid", { outcome: "unavailable" }],
    ["something_new", { outcome: "unavailable" }],
    ["", { outcome: "unavailable" }],
    ["ACCESS_TOKEN_EXPIRED", { outcome: "unavailable" }],
  ])("%j -> %j", (name, expected) => {
    expect(connectRefusal(name)).toEqual(expected);
  });
});
