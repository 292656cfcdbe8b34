package kernelfarm.worker;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kernelfarm.worker.sandbox.ScratchQuota;

/**
 * The {@code kernelfarm.worker} block, read and validated once at startup. Actors get this record, never a
 * {@link Config}.
 *
 * @param compileSlots compile processes running at once on this host
 * @param compileNiceness the nice level of compile processes (0: the worker's own)
 * @param precompiledHeaders "auto" (on where the host has GPUs), "on" or "off": torch/extension.h precompiled for
 *     C++ builds (harness/headers.py)
 * @param prefetch candidates one GpuWorker holds at once; 0 until {@link #withDevices(int)} resolves it
 * @param warmEvaluators evaluation processes kept started per device, at least
 * @param warmEvaluatorsMax the most a GPU device keeps when its processes start slowly
 * @param healthRetryMin the first wait before a failed process start or health check is retried; it doubles
 * @param healthRetryMax the longest such wait
 * @param drainTimeout how long a leaving node's GpuWorkers may take to finish their evaluations
 */
public record WorkerSettings(
    String python,
    Path workDir,
    String devices,
    int compileSlots,
    int compileJobs,
    int compileNiceness,
    String precompiledHeaders,
    int prefetch,
    int warmEvaluators,
    int warmEvaluatorsMax,
    Duration lease,
    Duration healthRetryMin,
    Duration healthRetryMax,
    Duration drainTimeout,
    Map<String, Duration> stageTimeouts,
    boolean referenceTimingReuse,
    int driftTrials,
    double driftTolerance,
    String sandboxMode,
    int sandboxFirstUid,
    int sandboxUidCount,
    long logBytes,
    ScratchQuota scratchQuota,
    Duration runRetention,
    Map<String, Long> limits,
    String cudaArchList,
    int timingCores) {

  public WorkerSettings {
    stageTimeouts = Map.copyOf(stageTimeouts);
    limits = Map.copyOf(limits);
    if (warmEvaluators < 1) {
      throw new IllegalArgumentException(
          "kernelfarm.worker.warm-evaluators must be >= 1, got " + warmEvaluators);
    }
    if (warmEvaluatorsMax < warmEvaluators) {
      throw new IllegalArgumentException("kernelfarm.worker.warm-evaluators-max must be >= warm-evaluators ("
          + warmEvaluators + "), got " + warmEvaluatorsMax);
    }
    if (compileNiceness < 0 || compileNiceness > 19) {
      throw new IllegalArgumentException(
          "kernelfarm.worker.compile-niceness must be 0-19, got " + compileNiceness);
    }
    if (!List.of("auto", "on", "off").contains(precompiledHeaders)) {
      throw new IllegalArgumentException("kernelfarm.worker.precompiled-headers must be auto, on or off, got \""
          + precompiledHeaders + "\"");
    }
    if (compileSlots < 1) {
      throw new IllegalArgumentException("kernelfarm.worker.compile-slots must be >= 1, got " + compileSlots);
    }
    for (String stage : new String[] {"ready", "compile", "build", "load", "correctness", "anticheat", "timing"}) {
      if (!stageTimeouts.containsKey(stage)) {
        throw new IllegalArgumentException("kernelfarm.worker.stage-timeouts." + stage + " is missing");
      }
    }
    if (!List.of("auto", "bwrap", "unshare", "none").contains(sandboxMode)) {
      throw new IllegalArgumentException(
          "kernelfarm.worker.sandbox.mode must be auto, bwrap, unshare or none, got \"" + sandboxMode + "\"");
    }
    if (sandboxFirstUid < 1000 || sandboxUidCount < 1) {
      throw new IllegalArgumentException("kernelfarm.worker.sandbox.first-uid must be >= 1000 (a system or "
          + "login user would own files) and uid-count >= 1, got " + sandboxFirstUid + " and " + sandboxUidCount);
    }
    if (healthRetryMin.isZero() || healthRetryMin.isNegative() || healthRetryMax.compareTo(healthRetryMin) < 0) {
      throw new IllegalArgumentException("kernelfarm.worker.health-retry-min must be positive and health-retry-max "
          + "at least as long, got " + healthRetryMin + " and " + healthRetryMax);
    }
    if (logBytes < 4096) {
      throw new IllegalArgumentException("kernelfarm.worker.sandbox.log-bytes must be >= 4096, got " + logBytes);
    }
  }

  public static WorkerSettings from(Config root) {
    Config c = root.getConfig("kernelfarm.worker");
    int cores = Runtime.getRuntime().availableProcessors();
    int slots = c.getInt("compile-slots");
    Map<String, Duration> timeouts = new LinkedHashMap<>();
    c.getConfig("stage-timeouts").root().keySet()
        .forEach(k -> timeouts.put(k, c.getDuration("stage-timeouts." + k)));
    Map<String, Long> limits = new LinkedHashMap<>();
    c.getConfig("limits").root().keySet().forEach(k -> limits.put(k, c.getBytes("limits." + k)));
    return new WorkerSettings(
        c.getString("python"),
        Path.of(c.getString("work-dir")).toAbsolutePath(),
        c.getString("devices"),
        slots > 0 ? slots : Math.max(1, cores * 3 / 4),
        c.getInt("compile-jobs"),
        c.getInt("compile-niceness"),
        c.getString("precompiled-headers"),
        c.getInt("prefetch"),
        c.getInt("warm-evaluators"),
        c.getInt("warm-evaluators-max"),
        c.getDuration("lease"),
        c.getDuration("health-retry-min"),
        c.getDuration("health-retry-max"),
        c.getDuration("drain-timeout"),
        timeouts,
        c.getBoolean("reference-timing-reuse"),
        c.getInt("drift-trials"),
        c.getDouble("drift-tolerance"),
        c.getString("sandbox.mode"),
        c.getInt("sandbox.first-uid"),
        c.getInt("sandbox.uid-count"),
        c.getBytes("sandbox.log-bytes"),
        new ScratchQuota(c.getBytes("sandbox.scratch-bytes"), c.getLong("sandbox.scratch-files")),
        c.getDuration("sandbox.run-retention"),
        limits,
        c.getString("cuda-arch-list"),
        c.getInt("timing-cores"));
  }

  /** The config path of the dispatcher that blocking calls (process starts, kills, file writes) run on. */
  public static final String BLOCKING_DISPATCHER = "kernelfarm.worker.blocking-dispatcher";

  /** How long to wait before retry {@code attempt} (1, 2, ...) of something that failed: doubling, capped. */
  public Duration healthRetry(int attempt) {
    Duration wait = healthRetryMin.multipliedBy(1L << Math.min(Math.max(attempt - 1, 0), 20));
    return wait.compareTo(healthRetryMax) > 0 ? healthRetryMax : wait;
  }

  /** Whether this host's compile processes get a precompiled torch/extension.h. */
  public boolean precompilesHeaders(boolean gpuHost) {
    return precompiledHeaders.equals("on") || precompiledHeaders.equals("auto") && gpuHost;
  }

  public Duration stageTimeout(String stage) {
    return stageTimeouts.getOrDefault(stage, stageTimeouts.get("timing"));
  }

  /** Resolves an automatic prefetch: enough candidates to keep this device's share of compile slots busy. */
  public WorkerSettings withDevices(int deviceCount) {
    int resolved = prefetch > 0 ? prefetch : Math.max(2, (compileSlots + deviceCount - 1) / deviceCount + 1);
    return new WorkerSettings(python, workDir, devices, compileSlots, compileJobs, compileNiceness, precompiledHeaders, resolved,
        warmEvaluators, warmEvaluatorsMax, lease, healthRetryMin, healthRetryMax, drainTimeout, stageTimeouts, referenceTimingReuse, driftTrials, driftTolerance, sandboxMode, sandboxFirstUid, sandboxUidCount, logBytes, scratchQuota, runRetention, limits,
        cudaArchList, timingCores);
  }
}
