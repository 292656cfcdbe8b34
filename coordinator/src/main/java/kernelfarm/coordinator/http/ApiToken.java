package kernelfarm.coordinator.http;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * The bearer token that mutating requests must carry. From config or the environment
 * ({@code kernelfarm.coordinator.http.token}, KFARM_API_TOKEN); else read from the token file; else generated on
 * first start, written to the token file readable by its owner alone and printed once to the console (never to the
 * log). Compared in constant time: the comparison takes as long for a near miss as for a wild guess.
 */
public final class ApiToken {
  /** Shorter tokens can be guessed; a generated one has 256 bits. */
  public static final int MIN_LENGTH = 16;

  private final byte[] digest;

  private ApiToken(String token) {
    this.digest = sha256(token);
  }

  /** A token given as is (config, environment, tests). */
  public static ApiToken of(String token) {
    if (token == null || token.length() < MIN_LENGTH) {
      throw new IllegalArgumentException("kernelfarm.coordinator.http.token: must have at least " + MIN_LENGTH
          + " characters; set KFARM_API_TOKEN to a long random string, or leave it empty to have one generated");
    }
    return new ApiToken(token);
  }

  /**
   * The configured token, or the one stored in {@code file}, or a new one stored there (owner-only) and printed to
   * {@code console}.
   */
  public static ApiToken resolve(String configured, Path file, PrintStream console) {
    if (configured != null && !configured.isEmpty()) {
      return of(configured);
    }
    try {
      if (Files.exists(file)) {
        return of(Files.readString(file, StandardCharsets.UTF_8).strip());
      }
      byte[] random = new byte[32];
      new SecureRandom().nextBytes(random);
      String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      try {
        // Created with owner-only permissions, so no other user can read it even for a moment.
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (FileAlreadyExistsException raced) {
        return of(Files.readString(file, StandardCharsets.UTF_8).strip());
      }
      Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
      console.println("kfarm: generated the API token for mutating requests (send \"Authorization: Bearer <token>\"); "
          + "stored in " + file.toAbsolutePath() + " (owner-only), shown this once: " + token);
      return new ApiToken(token);
    } catch (IOException e) {
      throw new IllegalStateException("kernelfarm.coordinator.http.token-file: cannot read or create " + file
          + " (" + e.getMessage() + "); set KFARM_API_TOKEN_FILE to a writable path or KFARM_API_TOKEN to a token", e);
    }
  }

  /** Whether {@code presented} is this token, in time independent of where they differ. */
  public boolean matches(String presented) {
    return presented != null && MessageDigest.isEqual(digest, sha256(presented));
  }

  /** Whether an Authorization header's value is {@code Bearer <this token>}. */
  public boolean admits(Optional<String> authorization) {
    return matches(authorization.filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
        .map(h -> h.substring(7).strip()).orElse(null));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "***";
  }
}
