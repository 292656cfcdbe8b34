package kernelfarm.coordinator.campaign;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.h2.tools.Server;

/**
 * A database the process tests own, so they can share it between coordinator processes and stop and start it
 * under them: an H2 server over TCP in the test's JVM (an H2 file opens in one process only), or a private
 * PostgreSQL cluster in a temporary folder on a port of its own (never the host's shared one, which other tests
 * and people use).
 */
abstract class RestartableStore implements AutoCloseable {
  /** The JDBC URL the nodes get as KFARM_STORE_URL; user kfarm, empty password. */
  abstract String url();

  /** Stops the database: connections drop, new ones are refused. */
  abstract void stop() throws Exception;

  /** Starts it again on the same port with the same data. */
  abstract void start() throws Exception;

  /** Verdicts the Dispatcher persisted: one per candidate, however the faults fell. */
  int verdictsJournaled() throws SQLException {
    try (Connection c = DriverManager.getConnection(url(), "kfarm", "");
        // Quoted lower case: the H2 script creates its tables so, and PostgreSQL folds unquoted names to it.
        ResultSet r = c.createStatement().executeQuery("SELECT COUNT(*) FROM \"event_journal\" WHERE "
            + "\"persistence_id\" = 'dispatcher' AND \"event_ser_manifest\" LIKE '%CandidateJudged'")) {
      r.next();
      return r.getInt(1);
    }
  }

  static RestartableStore h2(Path folder) throws Exception {
    return new H2(folder, ProcessNodes.freePort());
  }

  /** A private PostgreSQL; empty where this host has no PostgreSQL server binaries. */
  static Optional<RestartableStore> postgres(Path folder) throws Exception {
    Optional<Path> bin = postgresBin();
    if (bin.isEmpty()) {
      return Optional.empty();
    }
    Postgres pg = new Postgres(bin.get(), folder, ProcessNodes.freePort());
    pg.init();
    return Optional.of(pg);
  }

  private static Optional<Path> postgresBin() throws IOException {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions.map(v -> v.resolve("bin")).filter(b -> Files.isExecutable(b.resolve("initdb"))
              && Files.isExecutable(b.resolve("pg_ctl")))
          .max(Comparator.comparing(b -> b.getParent().getFileName().toString()));
    }
  }

  private static final class H2 extends RestartableStore {
    private final Path folder;
    private final int port;
    private Server server;

    H2(Path folder, int port) throws SQLException {
      this.folder = folder;
      this.port = port;
      start();
    }

    @Override
    String url() {
      return "jdbc:h2:tcp://127.0.0.1:" + port + "/kfarm";
    }

    @Override
    void stop() {
      server.stop();
    }

    @Override
    void start() throws SQLException {
      server = Server.createTcpServer("-tcpPort", Integer.toString(port), "-baseDir", folder.toString(),
          "-ifNotExists").start();
    }

    @Override
    public void close() {
      server.stop();
    }
  }

  private static final class Postgres extends RestartableStore {
    private final Path bin;
    private final Path data;
    private final int port;

    Postgres(Path bin, Path folder, int port) {
      this.bin = bin;
      this.data = folder.resolve("pg");
      this.port = port;
    }

    void init() throws Exception {
      Files.createDirectories(data);
      if (asRoot()) {
        // PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
        run(List.of("chown", "-R", "postgres", data.getParent().toString()), false);
      }
      run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", "kfarm", "--auth=trust"), true);
      start();
      try (Connection c = DriverManager.getConnection(url().replace("/kfarm", "/postgres"), "kfarm", "")) {
        c.createStatement().execute("CREATE DATABASE kfarm");
      }
    }

    @Override
    String url() {
      return "jdbc:postgresql://127.0.0.1:" + port + "/kfarm";
    }

    @Override
    void stop() throws Exception {
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"), true);
    }

    @Override
    void start() throws Exception {
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", data.resolve("server.log").toString(),
          "-o", "-p " + port + " -k " + data + " -c listen_addresses=127.0.0.1", "-w", "start"), true);
    }

    @Override
    public void close() throws Exception {
      run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "stop"), true);
    }

    private static boolean asRoot() {
      return "root".equals(System.getProperty("user.name"));
    }

    private static void run(List<String> command, boolean asPostgres) throws Exception {
      List<String> full = new ArrayList<>();
      if (asPostgres && asRoot()) {
        full.addAll(List.of("runuser", "-u", "postgres", "--"));
      }
      full.addAll(command);
      Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", full) + " failed:\n" + out);
      }
    }
  }
}
