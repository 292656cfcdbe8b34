package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One side's timing over its trials, in milliseconds.
 *
 * @param streamMedianMs median with only the current stream synchronised, or null if not measured; far below
 *     {@code medianMs} means work hidden on other streams
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Stats(
    double medianMs,
    double meanMs,
    double stdMs,
    double minMs,
    double maxMs,
    int trials,
    Double streamMedianMs)
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
