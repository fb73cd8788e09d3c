// Types `env` from cloudflare:test / cloudflare:workers as the Worker's bindings.
import type { Env as WorkerEnv } from "../worker/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {}
  }
}
