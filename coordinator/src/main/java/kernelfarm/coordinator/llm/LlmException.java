package kernelfarm.coordinator.llm;

/**
 * Why an LLM call gave no answer. The message names the endpoint, the HTTP status (if any), the attempts made and
 * the server's own error text, cut short; never the key or the prompt. An actor turns it into a String reason
 * before it goes into a message.
 */
public final class LlmException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String endpoint;
  private final int status;
  private final int attempts;

  LlmException(String endpoint, int status, int attempts, String message) {
    super(message);
    this.endpoint = endpoint;
    this.status = status;
    this.attempts = attempts;
  }

  /** {@link LlmEndpoint#name()} of the endpoint that failed. */
  public String endpoint() {
    return endpoint;
  }

  /** The last HTTP status, or 0 when there was none (connection error, timeout). */
  public int status() {
    return status;
  }

  public int attempts() {
    return attempts;
  }
}
