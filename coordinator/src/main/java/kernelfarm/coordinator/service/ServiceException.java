package kernelfarm.coordinator.service;

import java.util.List;
import java.util.stream.Collectors;
import kernelfarm.coordinator.campaign.FieldError;

/**
 * Why the CampaignService refused a call, as an API shows it: a kind (HTTP maps it to a status) and one
 * {@link FieldError} per problem, each naming the field and the fix.
 */
public final class ServiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, from the caller's side. */
  public enum Kind {
    /** the request is wrong; the errors say where and how to fix it (HTTP 400) */
    BAD_INPUT,
    /** no such campaign, problem, round or candidate (HTTP 404) */
    NOT_FOUND,
    /** the request contradicts the current state: another spec under the same id, a finished campaign (HTTP 409) */
    CONFLICT,
    /** the cluster did not answer in time; the same call may succeed later (HTTP 503) */
    UNAVAILABLE
  }

  private final Kind kind;
  private final transient List<FieldError> errors;

  public ServiceException(Kind kind, List<FieldError> errors) {
    super(kind + ": " + errors.stream().map(FieldError::line).collect(Collectors.joining("; ")));
    this.kind = kind;
    this.errors = List.copyOf(errors);
  }

  public static ServiceException of(Kind kind, String field, String problem, String fix) {
    return new ServiceException(kind, List.of(new FieldError(field, problem, fix)));
  }

  public Kind kind() {
    return kind;
  }

  public List<FieldError> errors() {
    return errors;
  }
}
