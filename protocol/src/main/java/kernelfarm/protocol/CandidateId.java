package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A candidate's content hash, written as a plain string ({@code "c-1f0e..."}) in JSON. Because equal sources get
 * equal ids, a resubmission after a timed-out ask is a no-op and a verified candidate is answered from the cache.
 */
public record CandidateId(String value) implements CborSerializable {
  private static final int HEX_CHARS = 16;

  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public CandidateId {
    Require.nonBlank(value, "value");
  }

  /**
   * "c-" and the first 16 hex characters of SHA-256 over {@code problemId + "\n" + normalise(source)}. The same
   * kernel for two problems gets two ids: its verdict depends on the reference it is checked against.
   */
  public static CandidateId of(String problemId, String source) {
    Require.nonBlank(problemId, "problemId");
    Require.nonNull(source, "source");
    byte[] text = (problemId + "\n" + normalise(source)).getBytes(StandardCharsets.UTF_8);
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text);
      return new CandidateId("c-" + HexFormat.of().formatHex(digest).substring(0, HEX_CHARS));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /**
   * Line endings and trailing whitespace are how an LLM's answer varies without changing the kernel, so they
   * must not make a new candidate: CRLF becomes LF, each line loses its trailing whitespace, and trailing blank
   * lines go.
   */
  static String normalise(String source) {
    String[] lines = source.replace("\r\n", "\n").split("\n", -1);
    StringBuilder out = new StringBuilder(source.length());
    for (String line : lines) {
      out.append(line.stripTrailing()).append('\n');
    }
    int end = out.length();
    while (end > 0 && out.charAt(end - 1) == '\n') {
      end--;
    }
    return out.substring(0, end);
  }

  @JsonValue
  @Override
  public String value() {
    return value;
  }

  @Override
  public String toString() {
    return value;
  }
}
