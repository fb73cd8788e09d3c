// Types `env` from cloudflare:test / cloudflare:workers as the test composition's bindings (the local ones).
import type { DevEnv } from "../dev/bindings";

declare global {
  namespace Cloudflare {
    interface Env extends DevEnv {}
  }
}
