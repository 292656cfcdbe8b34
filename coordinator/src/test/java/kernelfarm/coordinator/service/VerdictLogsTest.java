package kernelfarm.coordinator.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import kernelfarm.protocol.Redaction;
import kernelfarm.protocol.VerdictLogsProtocol;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A coordinator node reads a log from a worker-only node over the cluster: two nodes on loopback, the log in the
 * worker's run folder, several chunks across Artery.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerdictLogsTest {
  private final HttpClient http = HttpClient.newHttpClient();
  private Node worker;
  private Node coordinator;
  private Path run;

  @BeforeAll
  void startTwoNodes() throws Exception {
    worker = Node.start(Node.config(TestNodes.overrides(Map.of("pekko.cluster.roles", List.of("worker")), 1)),
        new Node.Deps(Clock.systemUTC(), http, List.of()), true);
    Path store = Files.createTempDirectory("kfarm-verdict-logs");
    Config config = Node.config(TestNodes.overrides(Map.of(
        "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
        "kernelfarm.coordinator.http.enabled", "off",
        "pekko.cluster.roles", List.of("coordinator"),
        "pekko.cluster.seed-nodes", List.of(worker.system().address().toString())), 1));
    coordinator = Node.start(config, new Node.Deps(Clock.systemUTC(), http, List.of()), false);
    // The worker's reader reaches the coordinator's receptionist through the cluster's replicated registry.
    TestProbe<Receptionist.Listing> listing = TestProbe.create(coordinator.system());
    listing.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(200), () -> {
      coordinator.system().receptionist().tell(Receptionist.find(VerdictLogsProtocol.SERVICE_KEY, listing.ref()));
      assertFalse(listing.receiveMessage().getServiceInstances(VerdictLogsProtocol.SERVICE_KEY).isEmpty());
      return null;
    });
    Path runs = Path.of("target/kfarm-test-work/runs").toAbsolutePath().normalize();
    run = Files.createDirectories(runs.resolve("verdict-logs-test-" + System.nanoTime()));
  }

  @AfterAll
  void stop() {
    coordinator.close();
    worker.close();
  }

  private VerdictLogs logs() {
    return new VerdictLogs(coordinator.system(), Duration.ofSeconds(10));
  }

  private String read(String nodeId, Path log) throws Exception {
    return logs().read(nodeId, log.toString()).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aLogOfSeveralChunksCrossesTheClusterWholeWithoutSecrets() throws Exception {
    String secret = "kfarm-remote-log-secret-" + System.nanoTime();
    Redaction.register(secret);
    StringBuilder original = new StringBuilder();
    for (int i = 0; original.length() < 3 * VerdictLogsProtocol.MAX_CHUNK_BYTES; i++) {
      original.append("line ").append(i).append(": naïve €uro ✓\n");
    }
    original.append("the candidate printed ").append(secret).append('\n');
    Path log = Files.writeString(run.resolve("harness.log"), original);
    String text = read(worker.system().address().toString(), log);
    assertEquals(original.toString().replace(secret, Redaction.MASK), text);
  }

  @Test
  void aNodeThatLeftAndAPathOutsideTheRunsAreClearErrors() throws Exception {
    ServiceException gone = cause(() -> read("pekko://KernelFarm@127.0.0.1:1", run.resolve("harness.log")));
    assertEquals(ServiceException.Kind.NOT_FOUND, gone.kind());
    assertEquals("node", gone.errors().get(0).field());
    ServiceException outside = cause(() -> read(worker.system().address().toString(), Path.of("/etc/passwd")));
    assertEquals("log", outside.errors().get(0).field());
    assertTrue(outside.errors().get(0).problem().contains("not a log of this node's runs"),
        outside.errors().get(0).problem());
  }

  private interface Call {
    void run() throws Exception;
  }

  private static ServiceException cause(Call call) {
    try {
      call.run();
    } catch (Exception e) {
      Throwable cause = e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
      return assertInstanceOf(ServiceException.class, cause, String.valueOf(e));
    }
    throw new AssertionError("expected a ServiceException");
  }
}
