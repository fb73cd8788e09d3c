/**
 * An app (tenant) as the registry stores it and as sessions see it. Kaleyra app ids look like
 * `mAppId_xxx`; environment and region are the values of the SDK's configure().
 */
import { kaleyraError } from "./errors";
import { parseRetryPolicy, type RetryPolicy } from "./policy";
import { fail, ok, type Result } from "./result";

export const ENVIRONMENTS = ["production", "sandbox"] as const;
export const REGIONS = ["eu", "in", "us"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
export type Region = (typeof REGIONS)[number];

export const APP_ID_PATTERN = /^mAppId_[A-Za-z0-9_-]{1,64}$/;

export interface AppSettings {
  environment: Environment;
  region: Region;
  /** Absent: the seed's defaults. */
  retryPolicy?: RetryPolicy;
}

export function isAppId(v: unknown): v is string {
  return typeof v === "string" && APP_ID_PATTERN.test(v);
}

export function isEnvironment(v: unknown): v is Environment {
  return (ENVIRONMENTS as readonly unknown[]).includes(v);
}

export function isRegion(v: unknown): v is Region {
  return (REGIONS as readonly unknown[]).includes(v);
}

/** The body of `PUT /v1/apps/:appId`. Unknown keys are refused. */
export function parseAppSettings(input: unknown): Result<AppSettings> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return fail(kaleyraError("bad_request", "body"));
  const o = input as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !["environment", "region", "retryPolicy"].includes(k));
  if (extra !== undefined) return fail(kaleyraError("bad_request", extra));
  if (!isEnvironment(o.environment)) return fail(kaleyraError("bad_request", "environment"));
  if (!isRegion(o.region)) return fail(kaleyraError("bad_request", "region"));
  const settings: AppSettings = { environment: o.environment, region: o.region };
  if (o.retryPolicy !== undefined) {
    const policy = parseRetryPolicy(o.retryPolicy);
    if (!policy.ok) return policy;
    settings.retryPolicy = policy.value;
  }
  return ok(settings);
}
