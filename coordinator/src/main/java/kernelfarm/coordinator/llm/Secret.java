package kernelfarm.coordinator.llm;

import com.fasterxml.jackson.annotation.JsonValue;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * An API key. It prints as {@code ***} wherever it ends up: {@code toString()}, a record's {@code toString()} that
 * holds it, a log line, or JSON written by Jackson. {@link #reveal()} is for the one place that sets the
 * {@code Authorization} header.
 *
 * <p>Not a record, because a record's accessor would hand the key to anyone who asked. JSON holds only
 * {@code "***"}, so an endpoint written out and read back has lost its key: keys come from the environment, never
 * from stored campaigns.
 */
public final class Secret {
  private final String value;

  private Secret(String value) {
    this.value = value;
  }

  /** Refuses a blank key; the message never repeats the value. */
  public static Secret of(String value) {
    Objects.requireNonNull(value, "api key must not be null; leave the key out instead");
    if (value.isBlank()) {
      throw new IllegalArgumentException("api key must not be blank; leave the key out for endpoints that need none");
    }
    return new Secret(value.strip());
  }

  /** The key itself: only for the request header. */
  public String reveal() {
    return value;
  }

  @JsonValue
  @Override
  public String toString() {
    return "***";
  }

  @Override
  public boolean equals(Object o) {
    // Constant time, so a comparison cannot be timed to guess the key.
    return o instanceof Secret other && MessageDigest.isEqual(
        value.getBytes(StandardCharsets.UTF_8), other.value.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }
}
