package kernelfarm.protocol;

/**
 * What a device is doing, as its GpuWorker classifies it: the one classification behind both its seconds per state
 * in /metrics and its {@link DispatcherProtocol.DeviceReport}. The names are lower case because they are Prometheus
 * label values and JSON values as they stand.
 */
public enum DeviceState {
  /** A process runs a candidate on it; an unhealthy or draining device finishing one is still evaluating. */
  evaluating,
  /** It holds a lease whose build is not done: nothing to run yet. */
  compiling,
  /** Nothing to do. */
  idle,
  /** Out of service until a health check passes. */
  unhealthy,
  /** Takes no more work and waits for its last verdicts to be acked before it stops. */
  draining
}
