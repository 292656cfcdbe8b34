package kernelfarm.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import kernelfarm.coordinator.campaign.TestNodes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A worker-only node serves its own registry on kernelfarm.metrics.port, so Prometheus sees each GPU's time by
 * state; reads need the API token where the API's do. One real node (cpu device, real harness), scraped over HTTP,
 * and a coordinator node, whose /metrics is the API's alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerNodeMetricsTest {
  private static final Pattern IDLE_SECONDS =
      Pattern.compile("(?m)^kfarm_device_seconds_total\\{device=\"0\",state=\"idle\"} [0-9.eE+-]+$");
  private final HttpClient http = HttpClient.newHttpClient();
  private Node worker;
  private int port;

  @BeforeAll
  void startWorkerOnlyNode() throws IOException {
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Config config = Node.config(TestNodes.overrides(Map.of(
        "pekko.cluster.roles", List.of("worker"),
        "kernelfarm.metrics.port", port,
        "kernelfarm.coordinator.http.read-requires-token", "on"), 1));
    worker = Node.start(config, new Node.Deps(Clock.systemUTC(), http, List.of()), true);
  }

  @AfterAll
  void stopNode() {
    worker.close();
  }

  private HttpResponse<String> scrape(String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aWorkerOnlyNodeServesItsDevicesSecondsByStateOnTheMetricsPort() {
    assertEquals(port, worker.metricsAddress().orElseThrow().getPort());
    TestProbe.create(worker.system()).awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(250), () -> {
      HttpResponse<String> r;
      try {
        r = scrape("Bearer " + TestNodes.TOKEN);
      } catch (Exception e) {
        throw new AssertionError("scrape: " + e.getMessage());
      }
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
      assertTrue(IDLE_SECONDS.matcher(r.body()).find(), "device 0's idle seconds:\n" + r.body());
      for (String series : List.of("kfarm_harness_restarts_total", "kfarm_compile_seconds", "jvm_memory_used_bytes")) {
        assertTrue(r.body().contains(series), series + " is served");
      }
      return null;
    });
  }

  @Test
  void aNodeServingTheApiLeavesTheMetricsPortUnbound() throws Exception {
    int unused;
    try (ServerSocket free = new ServerSocket(0)) {
      unused = free.getLocalPort();
    }
    Path store = Files.createTempDirectory("kfarm-metrics-port");
    Config config = Node.config(TestNodes.overrides(Map.of(
        "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
        "pekko.cluster.roles", List.of("coordinator"),
        "kernelfarm.metrics.port", unused), 1));
    try (Node coordinator = Node.start(config, new Node.Deps(Clock.systemUTC(), http, List.of()), true)) {
      assertTrue(coordinator.httpAddress().isPresent(), "the API serves /metrics");
      assertTrue(coordinator.metricsAddress().isEmpty(), "no second endpoint for the same registry");
      try (ServerSocket stillFree = new ServerSocket(unused)) {
        assertEquals(unused, stillFree.getLocalPort());
      }
    }
  }

  @Test
  void theMetricsPortRefusesAScrapeWithoutTheTokenWhenApiReadsNeedIt() throws Exception {
    for (String authorization : new String[] {null, "Bearer not-the-token-at-all-0123"}) {
      HttpResponse<String> r = scrape(authorization);
      assertEquals(401, r.statusCode(), "Authorization " + authorization + ": " + r.body());
      assertTrue(r.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
      assertFalse(r.body().contains("kfarm_device_seconds_total"), "no series without the token");
      assertFalse(r.body().contains(TestNodes.TOKEN), "the token never appears in a response");
    }
  }
}
