package kernelfarm.coordinator.campaign;

/**
 * One bad field of a submitted spec: where, what is wrong, how to fix it. HTTP and CLI show it as is.
 *
 * @param field the JSON path of the field, e.g. {@code search.timeBudget} or {@code endpoints[1]}
 * @param problem what is wrong with the value, e.g. {@code must be positive, got PT0S}
 * @param fix what to write instead, e.g. {@code write an ISO-8601 duration such as "PT15M"}
 */
public record FieldError(String field, String problem, String fix) {

  /** {@code field: problem; fix}, the form the CLI prints and exception messages use. */
  public String line() {
    return field + ": " + problem + "; " + fix;
  }
}
