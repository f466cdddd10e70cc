import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log at WARN, so a failing test's output shows its own assertions, not worker chatter.
// Core's own log is left on its default (console, no forwarding): forwarding runs a timer that keeps jest alive.
try {
  Runtime.install({ logger: new DefaultLogger((process.env.SHAREMOUNT_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  // Already installed in this process: keep it.
}
