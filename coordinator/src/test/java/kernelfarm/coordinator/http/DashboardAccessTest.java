package kernelfarm.coordinator.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.stream.Stream;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A node whose reads need the token ({@code read-requires-token = on}): the dashboard's files are served to anyone
 * (they hold no data), while its live streams, the cluster status and /metrics answer 401 without the token and
 * the Dispatcher's figures with it. No campaign: the node's own cpu worker is what the status shows.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardAccessTest {
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Node node;
  private URI base;

  @BeforeAll
  void start() throws Exception {
    Path store = Files.createTempDirectory("kfarm-dashboard-access");
    node = Node.start(Node.config(TestNodes.overrides(Map.of(
            "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
            "kernelfarm.coordinator.http.read-requires-token", "on"), 1)),
        new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(), List.of()), true);
    base = URI.create("http://127.0.0.1:" + node.httpAddress().orElseThrow().getPort());
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void thePagesAreOpenButTheirDataNeedsTheToken() throws Exception {
    HttpResponse<String> page = get("/dashboard/", null);
    assertEquals(200, page.statusCode());
    assertFalse(page.body().contains(TestNodes.TOKEN));
    assertEquals(200, get("/dashboard/app.js", null).statusCode());
    for (String path : List.of("/api/v1/cluster/status", "/api/v1/events/cluster", "/api/v1/events/campaigns",
        "/api/v1/campaigns/x/events", "/metrics")) {
      HttpResponse<String> refused = get(path, null);
      assertEquals(401, refused.statusCode(), path + " -> " + refused.body());
      assertEquals("Authorization", json.readTree(refused.body()).path("errors").get(0).path("field").asText());
    }
  }

  @Test
  void withTheTokenTheLiveStreamAndMetricsCarryTheDispatchersFigures() throws Exception {
    // The cpu worker asks for work once its evaluator is warm; until then the Dispatcher has not heard from it.
    TestProbe.create(node.system()).awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(500), () -> {
      try {
        JsonNode status = json.readTree(get("/api/v1/cluster/status", TestNodes.TOKEN).body());
        assertEquals(1, status.path("farm").path("workers").size(), status.toString());
        assertTrue(status.path("farm").path("workers").get(0).path("waiting").asBoolean(), status.toString());
        return null;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    HttpResponse<Stream<String>> events = http.send(HttpRequest.newBuilder(base.resolve("/api/v1/events/cluster"))
        .header("Authorization", "Bearer " + TestNodes.TOKEN).build(), HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, events.statusCode());
    try (Stream<String> lines = events.body()) {
      String first = lines.filter(l -> l.startsWith("data:")).findFirst().orElseThrow();
      assertEquals("cpu", json.readTree(first.substring(5)).path("farm").path("workers").get(0).path("deviceType")
          .asText(), first);
    }
    String metrics = get("/metrics", TestNodes.TOKEN).body();
    assertTrue(metrics.contains("kfarm_queue_depth 0.0"), metrics);
    assertTrue(metrics.contains("kfarm_devices{state=\"idle\"} 1.0"), metrics);
  }
}
