package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One side's timing over its trials, in milliseconds: KernelBench's method, CUDA events recorded on the current
 * stream (the wall clock on the cpu backend).
 *
 * @param syncMedianMs median with the whole device synchronised before the end event, or null where not measured
 *     (cpu); far above {@code medianMs} means work hidden on other streams. Never the reported time: its fixed host
 *     cost (10-15 us on an H100) would squeeze small kernels' speedups toward 1.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Stats(
    double medianMs,
    double meanMs,
    double stdMs,
    double minMs,
    double maxMs,
    int trials,
    Double syncMedianMs)
    implements CborSerializable {
  public Stats {
    Require.nonNegative(medianMs, "medianMs");
    Require.nonNegative(meanMs, "meanMs");
    Require.nonNegative(stdMs, "stdMs");
    Require.nonNegative(minMs, "minMs");
    Require.nonNegative(maxMs, "maxMs");
    Require.atLeast(trials, 1, "trials");
  }
}
