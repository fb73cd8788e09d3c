/** The local push service's decryption, held to RFC 8291 Appendix A: independent of any sender. */
import { describe, expect, it } from "vitest";
import { decodeBase64Url } from "../core/push-subscription";
import { decryptPushMessage, importUserAgentKeys } from "./push-decrypt";

const b = (text: string) => decodeBase64Url(text)!;

// RFC 8291 Appendix A, with its line breaks removed.
const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  authSecret: "BTBZMqHH6r4Tts7J_aSIgg",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_" +
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

describe("decryptPushMessage (RFC 8291, aes128gcm)", () => {
  it("decrypts the RFC's example message to its plaintext", async () => {
    const ua = await importUserAgentKeys(b(RFC8291.uaPrivate), b(RFC8291.uaPublic), b(RFC8291.authSecret));
    const plaintext = await decryptPushMessage(b(RFC8291.body), ua);
    expect(new TextDecoder().decode(plaintext)).toBe(RFC8291.plaintext);
  });

  it("reads nothing with another auth secret, a flipped ciphertext bit, or a truncated body", async () => {
    const body = b(RFC8291.body);
    const ua = await importUserAgentKeys(b(RFC8291.uaPrivate), b(RFC8291.uaPublic), b(RFC8291.authSecret));
    const otherAuth = await importUserAgentKeys(b(RFC8291.uaPrivate), b(RFC8291.uaPublic), new Uint8Array(16));
    expect(await decryptPushMessage(body, otherAuth)).toBeUndefined();
    const flipped = body.slice();
    flipped[body.length - 20]! ^= 1;
    expect(await decryptPushMessage(flipped, ua)).toBeUndefined();
    expect(await decryptPushMessage(body.slice(0, 90), ua)).toBeUndefined();
    expect(await decryptPushMessage(new Uint8Array(3), ua)).toBeUndefined();
  });
});
