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
    long seed)
    implements CborSerializable {
  public VerifySettings {
    Require.atLeast(correctnessTrials, 1, "correctnessTrials");
    Require.nonNegative(atol, "atol");
    Require.nonNegative(rtol, "rtol");
    Require.atLeast(warmupRuns, 0, "warmupRuns");
    Require.atLeast(timingTrials, 1, "timingTrials");
  }

  /** KernelBench's: 5 trials at atol = rtol = 1e-2, 10 warm-up runs, 100 timed trials with L2 flushed, seed 42. */
  public static VerifySettings defaults() {
    return new VerifySettings(5, 1e-2, 1e-2, 10, 100, true, false, 42);
  }
}
