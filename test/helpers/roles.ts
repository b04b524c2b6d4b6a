// A worker, a bridge and a dashboard in the test's process, the way the end-to-end suites run
// them; stopped (last started first) by the test's cleanups.
import { startDashboard, type DashboardOptions, type RunningDashboard } from '../../src/dashboard/server.js';
import { startBridge } from '../../src/producers/bridge.js';
import type { RunningRole } from '../../src/roles.js';
import { startWorker } from '../../src/workers/worker.js';
import type { BaseContext } from './context.js';

export async function startAllRoles(
  t: BaseContext,
  cleanups: Array<() => Promise<void>>,
  dashboard: DashboardOptions = {},
): Promise<RunningDashboard> {
  const roles: RunningRole[] = [await startWorker(t.ctx), await startBridge(t.ctx)];
  const dash = await startDashboard(t.ctx, dashboard);
  roles.push(dash);
  cleanups.push(async () => {
    for (const r of roles.reverse()) await r.stop();
  });
  return dash;
}
