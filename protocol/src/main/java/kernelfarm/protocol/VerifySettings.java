package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * How a worker verifies one candidate; a campaign sets these, and they travel with every offer so the harness
 * keeps no state between candidates.
 *
 * @param correctnessTrials fresh seeded inputs per trial; every trial must pass
 * @param atol absolute tolerance of the output comparison
 * @param rtol relative tolerance of the output comparison
 * @param warmupRuns untimed runs before timing, for caches, autotuning and lazy builds
 * @param timingTrials timed runs per side; the median is what counts
 * @param flushL2 flush L2 between trials, so a kernel is not timed on data the previous trial left warm
 * @param requireCustomKernel reject (not just flag) a candidate that only calls PyTorch ops or the reference
 * @param seed seeds the reference, the candidate and every trial's inputs alike
 * @param kernelbenchRules the KernelBench rules each verdict's {@code kernelbench} answer follows: {@code v0.1}
 *     (the default) or {@code main}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VerifySettings(
    int correctnessTrials,
    double atol,
    double rtol,
    int warmupRuns,
    int timingTrials,
    boolean flushL2,
    boolean requireCustomKernel,
    long seed,
    String kernelbenchRules)
    implements CborSerializable {
  public VerifySettings {
    if (kernelbenchRules == null) {
      kernelbenchRules = "v0.1";
    }
    if (!KernelBenchVerdict.RULES.contains(kernelbenchRules)) {
      throw new IllegalArgumentException("kernelbenchRules must be one of " + KernelBenchVerdict.RULES + ", got \""
          + kernelbenchRules + "\"");
    }
    Require.atLeast(correctnessTrials, 1, "correctnessTrials");
    Require.nonNegative(atol, "atol");
    Require.nonNegative(rtol, "rtol");
    Require.atLeast(warmupRuns, 0, "warmupRuns");
    Require.atLeast(timingTrials, 1, "timingTrials");
  }

  /** With KernelBench v0.1's rules beside the strict status. */
  public VerifySettings(int correctnessTrials, double atol, double rtol, int warmupRuns, int timingTrials,
      boolean flushL2, boolean requireCustomKernel, long seed) {
    this(correctnessTrials, atol, rtol, warmupRuns, timingTrials, flushL2, requireCustomKernel, seed, "v0.1");
  }

  /** KernelBench's: 5 trials at atol = rtol = 1e-2, 10 warm-up runs, 100 timed trials with L2 flushed, seed 42. */
  public static VerifySettings defaults() {
    return new VerifySettings(5, 1e-2, 1e-2, 10, 100, true, false, 42);
  }
}
