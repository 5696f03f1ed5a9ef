/**
 * A route-handler factory for Next.js API routes (App Router, web-standard Request/Response),
 * answering the seed's "enhanced" shape from atom-health:
 *
 *   // app/api/integrations/[id]/health/route.ts
 *   export const GET = createHealthRouteHandler({ baseUrl: process.env.ATOM_HEALTH_URL! });
 *   // app/api/integrations/health/route.ts (no [id]: the overview)
 *   export const GET = createHealthRouteHandler({ baseUrl: process.env.ATOM_HEALTH_URL! });
 *
 * The answer is atom-health's own enhanced route (`/api/enhanced/integrations/{id}/health` or
 * `/api/enhanced/health/overview`), status code included. When that route cannot answer (the
 * backend is older, or failing), the bridge's verdict (`/api/bridge/health`) stands in, and
 * when atom-health cannot be reached at all the handler answers 503 with
 * `backend: "disconnected"`: a front end always gets a body it can show.
 */

export interface RouteHandlerOptions {
  /** Where atom-health answers, e.g. http://127.0.0.1:8000 */
  baseUrl: string;
  /** A read key, sent as `Authorization: Bearer`, when the server requires one. */
  apiKey?: string;
  /** A fixed integration for this route; otherwise the route's `[id]` parameter, if any. */
  integration?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** How long to wait for atom-health, in ms (default 5 000). */
  timeoutMs?: number;
}

type Params = Record<string, string | string[] | undefined>;
export interface RouteContext {
  params?: Params | Promise<Params>;
}

export type RouteHandler = (request: Request, context?: RouteContext) => Promise<Response>;

export function createHealthRouteHandler(options: RouteHandlerOptions): RouteHandler {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.apiKey) headers.Authorization = `Bearer ${options.apiKey}`;

  async function ask(path: string, query: string): Promise<globalThis.Response> {
    return fetchImpl(`${baseUrl}${path}${query}`, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  return async (request, context) => {
    const params = (await context?.params) ?? {};
    const fromRoute = params.id ?? params.service ?? params.integration;
    const id = options.integration ?? (Array.isArray(fromRoute) ? fromRoute[0] : fromRoute);
    const refresh = new URL(request.url).searchParams.get("refresh") === "true";
    const query = refresh ? "?refresh=true" : "";
    const path = id
      ? `/api/enhanced/integrations/${encodeURIComponent(id)}/health`
      : "/api/enhanced/health/overview";
    try {
      const answer = await ask(path, query);
      if (answer.ok || answer.status === 404 || answer.status === 401 || answer.status === 403) {
        const body = (await answer.json()) as Record<string, unknown>;
        return json({ backend: "connected", ...body }, answer.status);
      }
    } catch {
      // fall through to the bridge's verdict
    }
    try {
      const bridge = await ask("/api/bridge/health", "");
      if (bridge.ok) {
        const verdict = (await bridge.json()) as Record<string, unknown>;
        return json(
          {
            ok: false,
            backend: "connected",
            status: verdict.status ?? "unknown",
            bridge_system_used: verdict.bridge_system_used ?? false,
            timestamp: verdict.timestamp ?? new Date().toISOString(),
            message: "atom-health answered through the bridge only",
            ...(id ? { service: id } : {}),
          },
          200,
        );
      }
    } catch {
      // atom-health is unreachable
    }
    return json(
      {
        ok: false,
        backend: "disconnected",
        status: "unknown",
        timestamp: new Date().toISOString(),
        message: "atom-health cannot be reached",
        ...(id ? { service: id } : {}),
      },
      503,
    );
  };
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}
