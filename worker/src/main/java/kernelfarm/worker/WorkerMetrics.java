package kernelfarm.worker;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import kernelfarm.protocol.DeviceState;

/**
 * What a worker node counts, in the node's Prometheus registry (the one in {@code Node.Deps}): how each device
 * spends its time, its warm evaluation processes, busy compile slots, how long compiles and evaluations take, and
 * harness processes that had to be replaced. Recorded where it happens (GpuWorker, CompilePool, Evaluator), so each
 * node's /metrics says what its own devices did; GpuWorker reads the current values back for its
 * {@code DeviceReport}, so the cluster status and /metrics cannot disagree. Label values come from enums, except
 * {@code device}, the device's index on its node: bounded by the node's GPUs.
 */
public final class WorkerMetrics {
  /** Which kind of harness process. */
  public enum HarnessRole { compile, evaluate }

  /** Why a harness process was replaced before it answered (a process used up by one candidate is not counted). */
  public enum RestartReason { timed_out, died, failed_to_start }

  private final Map<Integer, DeviceClock> clocks = new ConcurrentHashMap<>();
  private final AtomicInteger compileSlotsBusy = new AtomicInteger();
  private final Histogram compileSeconds;
  private final Histogram evaluationSeconds;
  private final Counter harnessRestarts;

  public WorkerMetrics(PrometheusRegistry registry) {
    CounterWithCallback.builder().name("kfarm_device_seconds_total")
        .help("Seconds each device of this node spent evaluating, compiling (waiting for its builds), idle, "
            + "unhealthy or draining; rate() of evaluating is the device's utilisation")
        .labelNames("device", "state")
        .callback(cb -> clocks.forEach((index, clock) -> {
          for (DeviceState state : DeviceState.values()) {
            cb.call(clock.seconds(state), String.valueOf(index), state.name());
          }
        })).register(registry);
    GaugeWithCallback.builder().name("kfarm_warm_evaluators")
        .help("Evaluation processes started and ready for each device of this node")
        .labelNames("device")
        .callback(cb -> clocks.forEach((index, clock) -> cb.call(clock.warmEvaluators(), String.valueOf(index))))
        .register(registry);
    GaugeWithCallback.builder().name("kfarm_compile_slots_busy")
        .help("Compiles running on this node's compile pool, for all its devices")
        .callback(cb -> cb.call(compileSlotsBusy.get())).register(registry);
    // From a cached build (well under a second) to a cold nvcc build of a large candidate (minutes).
    compileSeconds = Histogram.builder().name("kfarm_compile_seconds")
        .help("Wall time of one compile on this node's pool, from the request to the build's answer")
        .classicOnly().classicUpperBounds(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300).register(registry);
    // Correctness trials plus 100 timed runs of both sides: a fraction of a second for a small kernel, a minute
    // or more for a slow one.
    evaluationSeconds = Histogram.builder().name("kfarm_evaluation_seconds")
        .help("Wall time of one evaluation on a warm process (load, correctness, checks, timing)")
        .classicOnly().classicUpperBounds(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300).register(registry);
    harnessRestarts = Counter.builder().name("kfarm_harness_restarts_total")
        .help("Harness processes replaced because they timed out, died or failed to start")
        .labelNames("role", "reason").register(registry);
    for (HarnessRole role : HarnessRole.values()) {
      for (RestartReason reason : RestartReason.values()) {
        harnessRestarts.labelValues(role.name(), reason.name()); // present at 0, so rate() works from the start
      }
    }
  }

  /** Metrics kept in a registry nobody scrapes: for tools and tests that start workers without a node. */
  public static WorkerMetrics unscraped() {
    return new WorkerMetrics(new PrometheusRegistry());
  }

  /** The time account of the device with this index; a restarted GpuWorker carries on with the same one. */
  public DeviceClock device(int index) {
    return clocks.computeIfAbsent(index, i -> new DeviceClock());
  }

  /** Set by the node's CompilePool as compiles start and end. */
  public void compileSlotsBusy(int busy) {
    compileSlotsBusy.set(busy);
  }

  public int compileSlotsBusy() {
    return compileSlotsBusy.get();
  }

  public void compiled(Duration took) {
    compileSeconds.observe(took.toNanos() / 1e9);
  }

  public void evaluated(Duration took) {
    evaluationSeconds.observe(took.toNanos() / 1e9);
  }

  public void harnessReplaced(HarnessRole role, RestartReason reason) {
    harnessRestarts.labelValues(role.name(), reason.name()).inc();
  }

  /**
   * Seconds per state of one device. Its actor enters states; a scrape reads on another thread, and sees the
   * current state's time so far, so a long evaluation shows while it runs rather than when it ends.
   */
  public static final class DeviceClock {
    private final Map<DeviceState, Long> nanos = new EnumMap<>(DeviceState.class);
    private DeviceState state = DeviceState.idle;
    private long since = System.nanoTime();
    private int warmEvaluators;

    public synchronized void enter(DeviceState next) {
      if (next == state) {
        return;
      }
      long now = System.nanoTime();
      nanos.merge(state, now - since, Long::sum);
      state = next;
      since = now;
    }

    public synchronized DeviceState state() {
      return state;
    }

    /** Set by the device's Evaluator as spares become ready and are used or killed. */
    public synchronized void warmEvaluators(int ready) {
      warmEvaluators = ready;
    }

    public synchronized int warmEvaluators() {
      return warmEvaluators;
    }

    public synchronized double seconds(DeviceState of) {
      long n = nanos.getOrDefault(of, 0L) + (of == state ? System.nanoTime() - since : 0);
      return n / 1e9;
    }
  }
}
