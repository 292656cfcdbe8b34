package kernelfarm.coordinator.campaign;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A spec that cannot run, with every {@link FieldError} found; the message has one {@code field: problem; fix} line
 * per error.
 */
public final class SpecException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final transient List<FieldError> errors;

  public SpecException(List<FieldError> errors) {
    super(errors.stream().map(FieldError::line).collect(Collectors.joining("\n")));
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a SpecException needs at least one FieldError");
    }
    this.errors = List.copyOf(errors);
  }

  /** Every error found, in the order the spec's fields are checked. */
  public List<FieldError> errors() {
    return errors;
  }
}
