package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Reference and candidate timed the same way on the same device, interleaved.
 *
 * @param method how, such as {@code "cuda-events"} or {@code "wall-clock"}
 * @param reference the reference's statistics
 * @param candidate the candidate's statistics
 * @param speedup reference median over candidate median, or null if it could not be computed
 * @param referenceSource which reference was timed: {@code "eager"} or {@code "torch.compile"}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Timing(String method, Stats reference, Stats candidate, Double speedup, String referenceSource)
    implements CborSerializable {
  public Timing {
    Require.nonBlank(method, "method");
    Require.nonNull(reference, "reference");
    Require.nonNull(candidate, "candidate");
    Require.nonBlank(referenceSource, "referenceSource");
  }
}
