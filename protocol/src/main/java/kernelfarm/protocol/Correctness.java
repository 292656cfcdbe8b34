package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The correctness stage, KernelBench's way: every trial's outputs compared with the reference's.
 *
 * @param trials trials run; fewer than asked if one failed early
 * @param passed trials whose every output matched
 * @param maxAbsError largest absolute difference over the trials, or null if no output could be compared
 * @param maxRelError largest relative difference over the trials, or null if no output could be compared
 * @param atol the absolute tolerance used
 * @param rtol the relative tolerance used
 * @param firstMismatch null when every trial passed
 * @param degenerate null if the harness did not get as far as judging the reference's outputs
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Correctness(
    int trials,
    int passed,
    Double maxAbsError,
    Double maxRelError,
    double atol,
    double rtol,
    Mismatch firstMismatch,
    Degenerate degenerate)
    implements CborSerializable {
  public Correctness {
    Require.atLeast(trials, 0, "trials");
    Require.atLeast(passed, 0, "passed");
    if (passed > trials) {
      throw new IllegalArgumentException("passed must be <= trials (" + trials + "), got " + passed);
    }
    Require.nonNegative(atol, "atol");
    Require.nonNegative(rtol, "rtol");
  }
}
