package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One anti-cheat or rule check, named so feedback and reports can say which rule a candidate broke.
 *
 * @param name such as {@code "inputs-unmodified"} or {@code "decoy-kernel"}
 * @param outcome what it found
 * @param detail what it saw, in a line; empty if there is nothing to add
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Check(String name, CheckOutcome outcome, String detail) implements CborSerializable {
  public Check {
    Require.nonBlank(name, "name");
    Require.nonNull(outcome, "outcome");
    Require.nonNull(detail, "detail");
  }
}
