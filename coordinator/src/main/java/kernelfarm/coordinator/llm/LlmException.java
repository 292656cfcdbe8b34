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
  private final boolean transient_;
  private final boolean unreachable;

  LlmException(String endpoint, int status, int attempts, boolean transient_, boolean unreachable, String message) {
    super(message);
    this.endpoint = endpoint;
    this.status = status;
    this.attempts = attempts;
    this.transient_ = transient_;
    this.unreachable = unreachable;
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

  /**
   * True when another endpoint, or this one later, may answer the same request: a 429, 408 or 5xx, a connection
   * error, a timeout or a broken stream. False when the server refused the request itself (400, 401, a body that
   * is no chat completion), which another try would only repeat.
   */
  public boolean isTransient() {
    return transient_;
  }

  /**
   * True when no server could be reached at all: the last attempt's connection failed (refused, reset, unknown
   * host), and, from a pool, so did every endpoint's. A timeout is not this: a slow server is still there.
   */
  public boolean unreachable() {
    return unreachable;
  }
}
