// Run by tests/test_typescript_client.py against a real `atom-health serve` on loopback,
// whose address is in ATOM_HEALTH_URL (every provider is the simulator there).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  createHealthClient,
  createHealthRouteHandler,
  HealthApiError,
  type LiveEvent,
} from "../src/index.js";

const baseUrl = process.env.ATOM_HEALTH_URL ?? "";
assert.ok(baseUrl, "ATOM_HEALTH_URL must name a running atom-health");
const health = createHealthClient({ baseUrl });

test("the overview lists every integration with its status", async () => {
  const overview = await health.getAllIntegrationsHealth();
  assert.equal(overview.summary.total_services, Object.keys(overview.services).length);
  assert.ok(overview.summary.total_services >= 14);
  assert.equal(overview.services.github?.status, "healthy");
});

test("one integration, and an unknown one as a typed error", async () => {
  const github = await health.getIntegrationHealth("github");
  assert.equal(github.service, "github");
  assert.equal(github.checks.api_access?.status, "pass");

  await assert.rejects(health.getIntegrationHealth("orkut"), (error: unknown) => {
    assert.ok(error instanceof HealthApiError);
    assert.equal(error.status, 404);
    assert.equal((error.body as { status: string }).status, "unknown");
    return true;
  });
});

test("watch() delivers fresh results from the event stream", async () => {
  const seen: LiveEvent[] = [];
  const arrived = new Promise<void>((resolve) => {
    const stop = health.watch((event) => {
      seen.push(event);
      if (event.row.service === "slack") {
        stop();
        resolve();
      }
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the stream open
  await health.getIntegrationHealth("slack", { refresh: true });
  await arrived;
  const slack = seen.find((event) => event.row.service === "slack");
  assert.equal(slack?.row.status, "healthy");
  assert.ok((slack?.summary.total_services ?? 0) >= 1);
});

test("the Next.js route handler answers the enhanced shape", async () => {
  const GET = createHealthRouteHandler({ baseUrl });
  const overview = await GET(new Request("http://front.end/api/integrations/health"));
  const zoom = await GET(new Request("http://front.end/api/integrations/zoom/health"), {
    params: Promise.resolve({ id: "zoom" }),
  });
  const unknown = await GET(new Request("http://front.end/api/integrations/orkut/health"), {
    params: { id: "orkut" },
  });

  assert.equal(overview.status, 200);
  const overviewBody = (await overview.json()) as Record<string, unknown>;
  assert.equal(overviewBody.backend, "connected");
  assert.ok("summary" in overviewBody && "services" in overviewBody);
  assert.equal(zoom.status, 200);
  assert.equal(((await zoom.json()) as { service: string }).service, "zoom");
  assert.equal(unknown.status, 404);
});

test("the route handler falls back to the bridge, then says the backend is gone", async () => {
  const enhancedBroken: typeof fetch = async (input, init) => {
    const url = String(input);
    if (url.includes("/api/enhanced/")) return new Response("busy", { status: 502 });
    return fetch(input, init);
  };
  const viaBridge = await createHealthRouteHandler({ baseUrl, fetch: enhancedBroken })(
    new Request("http://front.end/api/integrations/health"),
  );
  const gone = await createHealthRouteHandler({ baseUrl: "http://127.0.0.1:9", timeoutMs: 2000 })(
    new Request("http://front.end/api/integrations/health"),
  );

  assert.equal(viaBridge.status, 200);
  const bridged = (await viaBridge.json()) as Record<string, unknown>;
  assert.equal(bridged.backend, "connected");
  assert.equal(bridged.bridge_system_used, false);
  assert.ok(["healthy", "degraded", "unhealthy"].includes(String(bridged.status)));
  assert.equal(gone.status, 503);
  assert.equal(((await gone.json()) as { backend: string }).backend, "disconnected");
});
