package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;

/**
 * The first output that did not match.
 *
 * @param trial the trial it happened in, from 0
 * @param kind {@code "value"}, {@code "shape"}, {@code "dtype"}, {@code "nan"} (NaN or Inf), {@code "type"}
 *     (not a plain tensor) or {@code "structure"} (a different tuple or list of outputs); not checked here, so
 *     a harness with a new kind still gets its verdict through
 * @param index the element's index for a {@code "value"} or {@code "nan"} mismatch, else null
 * @param expected the reference's value, shape, dtype or type, as text
 * @param actual the candidate's, as text
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Mismatch(int trial, String kind, List<Long> index, String expected, String actual)
    implements CborSerializable {
  public Mismatch {
    Require.atLeast(trial, 0, "trial");
    Require.nonBlank(kind, "kind");
    index = index == null ? null : List.copyOf(index);
    Require.nonNull(expected, "expected");
    Require.nonNull(actual, "actual");
  }
}
