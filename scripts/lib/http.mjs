/**
 * JSON over HTTP for the scripts, the bench and the browser tests: one request with a deadline.
 * Answers { status, json, text }: `json` is the parsed body, the raw text when the body is not
 * JSON (so an error message still shows what came back), undefined when empty.
 */
export async function requestJson(url, { method = "GET", body, headers = {}, timeoutMs = 10_000 } = {}) {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, text };
}
