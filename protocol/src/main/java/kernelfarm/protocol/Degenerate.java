package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * Whether the reference's own outputs are ones a trivial answer (zeros, a constant, an input-independent
 * tensor) would match; judged at run time, never from a list of problems.
 *
 * @param degenerate whether they are
 * @param reason why, or empty when not degenerate
 * @param resolvedWithExtraInputs whether extra input distributions made the check meaningful again
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Degenerate(boolean degenerate, String reason, boolean resolvedWithExtraInputs)
    implements CborSerializable {
  public Degenerate {
    Require.nonNull(reason, "reason");
  }
}
