/**
 * The emulator as the local composition runs it: webhooks addressed to this orchestrator
 * (`/v1/webhooks/kaleyra/...` on localhost, 127.0.0.1 or orchestrator.local) are delivered
 * in-process, so they work in tests (no port) and under `npm start` (any port) alike. The demo app
 * gets such a webhook URL at start.
 */
import { KaleyraEmulator as EmulatorBase } from "./emulator/KaleyraEmulator";
import { DEMO_APP_ID } from "./emulator/store";
import { app as orchestrator } from "../worker/app";
import type { DevEnv } from "./bindings";
import { ensureDemoApp } from "./demo/seed";

const LOCAL_WEBHOOK_ORIGIN = "http://orchestrator.local";
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "orchestrator.local"]);

export function localWebhookUrl(appId: string): string {
  return `${LOCAL_WEBHOOK_ORIGIN}/v1/webhooks/kaleyra/${appId}`;
}

export class KaleyraEmulator extends EmulatorBase<DevEnv> {
  constructor(ctx: DurableObjectState, env: DevEnv) {
    super(ctx, env);
    this.store.ensureDemoApp(Date.now());
    if (this.store.app(DEMO_APP_ID)?.webhook_url == null) this.store.setWebhookUrl(DEMO_APP_ID, localWebhookUrl(DEMO_APP_ID));
  }

  protected override deliverWebhook(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (LOCAL_HOSTS.has(url.hostname) && url.pathname.startsWith("/v1/webhooks/kaleyra/")) {
      return ensureDemoApp(this.env).then(() => orchestrator.fetch(request, this.env));
    }
    return super.deliverWebhook(request);
  }
}
