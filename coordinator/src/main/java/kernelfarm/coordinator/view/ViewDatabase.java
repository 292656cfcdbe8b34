package kernelfarm.coordinator.view;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * The read tables' database: the store that holds the journal (kernelfarm.store), a small connection pool of its
 * own, and the schema, which the node creates itself at start on H2 and PostgreSQL alike. Every statement here is
 * plain SQL that both accept; the only difference is the type of long text.
 *
 * <p>Tables: {@code kfarm_view_offsets} (one row per projection tag: the journal ordering it has applied),
 * {@code kfarm_campaigns}, {@code kfarm_problems} (summary columns plus the problem's {@code ProblemTally} as
 * JSON), {@code kfarm_rounds} (summary columns, and the journal sequence numbers of the round's answer and verdict
 * events: the full prompt, answer, reasoning, source and verdict are read from the journal one round at a time, so
 * the bulky text is stored once) and {@code kfarm_verdicts} (one per candidate of a problem: which round it came
 * from).
 */
public final class ViewDatabase implements AutoCloseable {
  /** The longest text H2 keeps in a row (specs and tallies are kilobytes); PostgreSQL's TEXT has no limit. */
  static final int MAX_H2_TEXT = 1_000_000;

  private final HikariDataSource pool;
  private final boolean postgres;

  private ViewDatabase(HikariDataSource pool, boolean postgres) {
    this.pool = pool;
    this.postgres = postgres;
  }

  /** Opens a pool on the store that {@code kernelfarm.store} names; Node has already checked the URL's kind. */
  public static ViewDatabase open(Config config) {
    Config store = config.getConfig("kernelfarm.store");
    String url = store.getString("url");
    HikariConfig hikari = new HikariConfig();
    hikari.setJdbcUrl(url);
    hikari.setUsername(store.getString("user"));
    hikari.setPassword(store.getString("password"));
    hikari.setMaximumPoolSize(config.getInt("kernelfarm.coordinator.view.max-connections"));
    hikari.setMinimumIdle(1);
    hikari.setPoolName("kfarm-view");
    hikari.setAutoCommit(true);
    return new ViewDatabase(new HikariDataSource(hikari), url.startsWith("jdbc:postgresql:"));
  }

  public DataSource dataSource() {
    return pool;
  }



  /**
   * The read tables' layout. The tables hold only what the journal already has, so a node that finds another
   * version drops them with their offsets and the projections rebuild them from the start of the journal.
   */
  static final int SCHEMA_VERSION = 2;

  private static final List<String> TABLES = List.of("kfarm_view_offsets", "kfarm_campaigns", "kfarm_problems",
      "kfarm_rounds", "kfarm_verdicts");

  /**
   * Creates the read tables and indexes that do not exist yet, after dropping those of another schema version.
   * Blocking: call at start, before the projections run.
   */
  public void createSchema() throws SQLException {
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS kfarm_view_schema (version INT NOT NULL)");
      Integer found = null;
      try (java.sql.ResultSet r = s.executeQuery("SELECT MAX(version) FROM kfarm_view_schema")) {
        if (r.next()) {
          found = (Integer) r.getObject(1, Integer.class);
        }
      }
      if (found == null || found != SCHEMA_VERSION) {
        for (String table : TABLES) {
          s.execute("DROP TABLE IF EXISTS " + table);
        }
        s.execute("DELETE FROM kfarm_view_schema");
        s.execute("INSERT INTO kfarm_view_schema (version) VALUES (" + SCHEMA_VERSION + ")");
      }
    }
    createTables();
  }

  private void createTables() throws SQLException {
    // Only specs and tallies (a few kilobytes) are long text here: on H2 a VARCHAR, kept in its row.
    String text = postgres ? "TEXT" : "CHARACTER VARYING(" + MAX_H2_TEXT + ")";
    String time = "TIMESTAMP WITH TIME ZONE";
    List<String> ddl = List.of(
        "CREATE TABLE IF NOT EXISTS kfarm_view_offsets (tag VARCHAR(64) PRIMARY KEY, seq_offset BIGINT NOT NULL, "
            + "updated_at " + time + " NOT NULL)",
        "CREATE TABLE IF NOT EXISTS kfarm_campaigns (campaign_id VARCHAR(255) PRIMARY KEY, name VARCHAR(255), "
            + "state VARCHAR(16) NOT NULL, problem_count INT NOT NULL, problems_done INT NOT NULL, "
            + "submitted_at " + time + " NOT NULL, cancelled_at " + time + ", finished_at " + time + ", "
            + "spec_json " + text + " NOT NULL, problem_ids_json " + text + " NOT NULL)",
        "CREATE INDEX IF NOT EXISTS kfarm_campaigns_submitted ON kfarm_campaigns (submitted_at)",
        "CREATE TABLE IF NOT EXISTS kfarm_problems (campaign_id VARCHAR(255) NOT NULL, "
            + "problem_id VARCHAR(512) NOT NULL, name VARCHAR(512) NOT NULL, level INT NOT NULL, "
            + "state VARCHAR(16) NOT NULL, finish_reason VARCHAR(512), best_status VARCHAR(32), "
            + "best_speedup DOUBLE PRECISION, best_candidate VARCHAR(128), rounds_answered INT NOT NULL, "
            + "rounds_judged INT NOT NULL, gpu_seconds DOUBLE PRECISION NOT NULL, prompt_tokens BIGINT NOT NULL, "
            + "completion_tokens BIGINT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, "
            + "started_at " + time + " NOT NULL, finished_at " + time + ", tally_json " + text + " NOT NULL, "
            + "PRIMARY KEY (campaign_id, problem_id))",
        "CREATE TABLE IF NOT EXISTS kfarm_rounds (campaign_id VARCHAR(255) NOT NULL, "
            + "problem_id VARCHAR(512) NOT NULL, branch INT NOT NULL, round INT NOT NULL, "
            + "answered_at " + time + " NOT NULL, endpoint VARCHAR(255) NOT NULL, candidate_id VARCHAR(128), "
            + "prompt_tokens INT NOT NULL, completion_tokens INT NOT NULL, cost_usd DOUBLE PRECISION NOT NULL, "
            + "latency_ms BIGINT NOT NULL, finish_reason VARCHAR(64) NOT NULL, status VARCHAR(32), "
            + "speedup DOUBLE PRECISION, summary VARCHAR(2000), judged_at " + time + ", restarted_from VARCHAR(32), "
            + "answered_seq BIGINT NOT NULL, judged_seq BIGINT, PRIMARY KEY (campaign_id, problem_id, branch, round))",
        "CREATE INDEX IF NOT EXISTS kfarm_rounds_candidate ON kfarm_rounds (campaign_id, candidate_id)",
        "CREATE TABLE IF NOT EXISTS kfarm_verdicts (campaign_id VARCHAR(255) NOT NULL, "
            + "problem_id VARCHAR(512) NOT NULL, candidate_id VARCHAR(128) NOT NULL, status VARCHAR(32) NOT NULL, "
            + "speedup DOUBLE PRECISION, device VARCHAR(255), judged_at " + time + " NOT NULL, branch INT NOT NULL, "
            + "round INT NOT NULL, PRIMARY KEY (campaign_id, problem_id, candidate_id))");
    try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
      for (String statement : ddl) {
        s.execute(statement);
      }
    }
  }

  @Override
  public void close() {
    pool.close();
  }
}
