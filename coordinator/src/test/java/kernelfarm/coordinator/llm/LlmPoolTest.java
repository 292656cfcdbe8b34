package kernelfarm.coordinator.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Several endpoints as one: spreading by free capacity, failover, health, stats and the reachability probe. */
class LlmPoolTest {
  private static final String KEY = "sk-kfarm-pool-test-key-0123456789";

  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private FakeLlmServer a;
  private FakeLlmServer b;

  @BeforeEach
  void startServers() {
    a = FakeLlmServer.start(json);
    b = FakeLlmServer.start(json);
  }

  @AfterEach
  void stopServers() {
    a.close();
    b.close();
  }

  private LlmClient client(String name, URI url, int concurrency, int retries) {
    return new LlmClient(new LlmEndpoint(name, url, "deepseek-ai/deepseek-r1", Secret.of(KEY), concurrency,
        Duration.ofSeconds(5), retries, 0, 0), http, json, Clock.systemUTC());
  }

  /** A loopback port that nothing listens on: connections to it are refused. */
  private static URI deadUrl() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1");
    }
  }

  private static ChatRequest request() {
    return new ChatRequest(List.of(ChatMessage.user("Write ModelNew")), 0.6, 1024, null, false);
  }

  private static LlmException failureOf(CompletionStage<ChatResult> stage) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> stage.toCompletableFuture().get(20, TimeUnit.SECONDS));
    return assertInstanceOf(LlmException.class, e.getCause());
  }

  @Test
  void callsGoWhereMostSlotsAreFree() throws Exception {
    // Every answer takes a while, so all four calls are open together and each sees the others' slots taken.
    a.otherwise(FakeLlmServer.after(Duration.ofMillis(600), FakeLlmServer.answer("from a")));
    b.otherwise(FakeLlmServer.after(Duration.ofMillis(600), FakeLlmServer.answer("from b")));
    LlmPool pool = new LlmPool(List.of(client("a", a.baseUrl(), 3, 0), client("b", b.baseUrl(), 1, 0)));

    List<CompletableFuture<ChatResult>> calls = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      calls.add(pool.complete(request()).toCompletableFuture());
    }
    List<String> answeredBy = new ArrayList<>();
    for (CompletableFuture<ChatResult> call : calls) {
      answeredBy.add(call.get(20, TimeUnit.SECONDS).endpoint());
    }

    assertEquals(3, answeredBy.stream().filter("a"::equals).count(), answeredBy.toString());
    assertEquals(1, answeredBy.stream().filter("b"::equals).count(), answeredBy.toString());
    assertEquals(1, b.maxConcurrent(), "b was never asked for more than its one slot");
    assertEquals(List.of(3L, 1L), pool.stats().stream().map(LlmClient.Stats::answered).toList());
  }

  @Test
  void rateLimitedServerErrorAndRefusedEndpointsHandTheirCallOnAtOnce() throws Exception {
    URI dead = deadUrl();
    // Retry-After 30 s: a client that waited for it instead of failing over would time the test out.
    a.script(FakeLlmServer.tooManyRequests(30), FakeLlmServer.status(503, "overloaded"));
    b.otherwise(FakeLlmServer.answer("from b"));
    LlmClient refused = client("refused", dead, 64, 4);
    LlmClient limited = client("a", a.baseUrl(), 32, 4);
    LlmClient healthy = client("b", b.baseUrl(), 1, 4);
    // Free slots order the endpoints: refused (64), then a (32), then b (1).
    LlmPool pool = new LlmPool(List.of(healthy, limited, refused));

    ChatResult first = pool.complete(request()).toCompletableFuture().get(20, TimeUnit.SECONDS);

    assertEquals("b", first.endpoint());
    assertEquals(1, a.requests().size(), "a rate-limited endpoint is tried once, not retried, when others are left");
    assertEquals(1, refused.stats().failedOver());
    assertEquals(1, limited.stats().failedOver());
    assertEquals(0, limited.stats().retried());
    assertTrue(refused.coolingDown() && limited.coolingDown(), "both failed just now");

    // Both failures are recent, so the next call asks the healthy endpoint first, though it has the fewest slots.
    ChatResult second = pool.complete(request()).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertEquals("b", second.endpoint());
    assertEquals(1, a.requests().size(), "a cooling endpoint is not asked first");
    assertEquals(2, healthy.stats().answered());
  }

  @Test
  void aRefusalThatAnyEndpointWouldRepeatIsNotFailedOver() {
    a.script(FakeLlmServer.status(400, "maximum context length is 65536 tokens"));
    LlmPool pool = new LlmPool(List.of(client("a", a.baseUrl(), 8, 2), client("b", b.baseUrl(), 1, 2)));

    LlmException e = failureOf(pool.complete(request()));

    assertEquals(400, e.status());
    assertFalse(e.isTransient());
    assertEquals(0, b.requests().size(), "b would refuse the same request");
  }

  @Test
  void whenEveryEndpointFailsTheErrorNamesEachAndNeverTheKey() throws Exception {
    LlmPool pool = new LlmPool(List.of(client("first", deadUrl(), 8, 0), client("second", deadUrl(), 4, 0)));

    LlmException e = failureOf(pool.complete(request()));

    assertTrue(e.unreachable(), e.getMessage());
    assertTrue(e.getMessage().contains("llm endpoint \"second\"") && e.getMessage().contains("llm endpoint \"first\""),
        e.getMessage());
    assertTrue(e.getMessage().contains("connection failed"), e.getMessage());
    assertFalse(e.getMessage().contains(KEY), e.getMessage());
    assertEquals(List.of(1L, 1L), pool.stats().stream().map(LlmClient.Stats::failed).toList());
  }

  @Test
  void probeNamesTheEndpointsThatDoNotAnswerHttp() throws Exception {
    URI dead = deadUrl();
    // The fake answers GET /models with a 404: any HTTP answer means the server is there.
    LlmPool pool = new LlmPool(List.of(client("up", a.baseUrl(), 1, 0), client("down", dead, 1, 0)));

    List<String> down = pool.unreachable(Duration.ofSeconds(5)).toCompletableFuture().get(20, TimeUnit.SECONDS);

    assertEquals(1, down.size(), down.toString());
    assertTrue(down.get(0).startsWith("down (" + dead + "): connection refused"), down.get(0));
    assertEquals("Bearer " + KEY, a.requests().get(0).header("Authorization"), "the probe authenticates as calls do");
    assertEquals("/v1/models", a.requests().get(0).path());
  }

  @Test
  void aThousandCallsStayOpenAtOnceThroughOneClient() throws Exception {
    // Every answer after 8 s: time enough for a busy 2-core machine to open all thousand calls (about 3 s here).
    try (LatencyLlmServer slow = LatencyLlmServer.start(json, Duration.ofSeconds(8), 0, 7)) {
      LlmClient client = new LlmClient(new LlmEndpoint("slow", slow.baseUrl(), "r1", null, 1000,
          Duration.ofSeconds(60), 0, 0, 0), http, json, Clock.systemUTC());
      List<CompletableFuture<ChatResult>> calls = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        calls.add(client.complete(request()).toCompletableFuture());
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

      assertEquals(1000, slow.peakOpen(), "every call was open at the server at once");
      assertEquals(1000, client.stats().peakInFlight());
      assertEquals(1000, client.stats().answered());
      assertEquals(0, client.stats().failed() + client.stats().retried(), "no call failed or was retried");
    }
  }
}
