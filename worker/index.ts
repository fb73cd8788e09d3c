import { DurableObject } from "cloudflare:workers";
export class UserSession extends DurableObject {}
export class AppRegistry extends DurableObject {}
export default { fetch: () => new Response("ok") };
