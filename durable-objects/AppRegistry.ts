// Placeholder: the worker/registry helper replaces this.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env";
export class AppRegistry extends DurableObject<Env> {}
