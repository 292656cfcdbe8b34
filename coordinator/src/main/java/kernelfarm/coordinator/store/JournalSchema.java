package kernelfarm.coordinator.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Creates the event journal's tables (journal, tags, snapshots) where they are missing, from the DDL that
 * pekko-persistence-jdbc ships for H2 and PostgreSQL, so a node needs no schema step of its own and no testkit.
 * The scripts are made idempotent here: every index is created only if it does not exist.
 */
public final class JournalSchema {
  private static final Pattern INDEX = Pattern.compile(
      "CREATE\\s+(UNIQUE\\s+)?INDEX\\s+(CONCURRENTLY\\s+)?(?!IF\\s+NOT\\s+EXISTS)", Pattern.CASE_INSENSITIVE);

  private JournalSchema() {}

  /** Connects to the store at {@code url} and creates what is missing. Blocking; call at start. */
  public static void createIfMissing(String url, String user, String password) throws SQLException {
    String script = url.startsWith("jdbc:postgresql:") ? "schema/postgres/postgres-create-schema.sql"
        : "schema/h2/h2-create-schema.sql";
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      for (String statement : statements(script)) {
        s.execute(statement);
      }
    }
  }

  /** The script's statements, each made idempotent. */
  static List<String> statements(String resource) {
    String text;
    try (InputStream in = JournalSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from pekko-persistence-jdbc on the class path");
      }
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(resource + " cannot be read", e);
    }
    List<String> out = new ArrayList<>();
    for (String part : text.split(";")) {
      String statement = part.lines().filter(l -> !l.strip().startsWith("--"))
          .reduce("", (a, b) -> a + b + "\n").strip();
      if (!statement.isEmpty()) {
        // CONCURRENTLY cannot run in a transaction and buys nothing on a new table.
        out.add(INDEX.matcher(statement).replaceFirst(m -> "CREATE " + (m.group(1) == null ? "" : "UNIQUE ")
            + "INDEX IF NOT EXISTS "));
      }
    }
    return out;
  }
}
