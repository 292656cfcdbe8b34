package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A campaign submitted straight to a coordinator (as over HTTP, with no command-line check first) whose every
 * endpoint refuses connections ends at once with the reason, instead of retrying for its whole budget.
 */
@Tag("slow") // 15 s on a quiet machine, 35 s on a busy one: a node starts and stops
class UnreachableEndpointsTest {
  @Test
  void aProblemThatNoEndpointCanReachEndsWithTheReasonInsteadOfSpendingItsBudget() throws Exception {
    URI dead;
    try (ServerSocket socket = new ServerSocket(0)) {
      dead = URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1");
    }
    // One retry: the client's own backoff stays under a second, so the test measures the problem's reaction.
    LlmEndpoint endpoint = new LlmEndpoint("nobody-home", dead, "r1", null, 64, Duration.ofSeconds(5), 1, 0, 0);
    Path store = Files.createTempDirectory("kfarm-unreachable");
    Problem problem = new Problem("unreachable/p0", 1, "p0",
        "import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):\n    def forward(self, x):\n        return x\n");
    CampaignSpec spec = new CampaignSpec("unreachable", new CampaignSpec.ProblemSelection("generated", List.of(),
        List.of()), Backend.CPU, new CampaignSpec.Search(4, 3, Duration.ofMinutes(30),
        CampaignSpec.StopRule.SPEND_BUDGET, null, 0, 0), new CampaignSpec.Sampling(0.7, 1024, null),
        List.of("nobody-home"), VerifySettings.defaults());
    // A coordinator alone: nothing is verified, since nothing is ever answered.
    var overrides = TestNodes.overrides(Map.of("kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm"),
        "pekko.cluster.roles", List.of("coordinator")), 1);

    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(),
        List.of(endpoint)), true)) {
      long started = System.nanoTime();
      node.submit("unreachable-1", spec, List.of(problem)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Campaign.Progress progress = TestProbe.create(node.system()).awaitAssert(Duration.ofSeconds(30),
          Duration.ofMillis(200), () -> {
            Campaign.Progress p = node.progress("unreachable-1").toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertNotNull(p.finished(), "still running");
            return p;
          });
      double seconds = (System.nanoTime() - started) / 1e9;

      ProblemResult result = progress.results().get(problem.id());
      assertTrue(result.finishReason().startsWith("no LLM endpoint is reachable: llm endpoint \"nobody-home\""),
          result.finishReason());
      assertTrue(result.finishReason().contains("connection failed"), result.finishReason());
      assertEquals(0, result.roundsAnswered());
      assertTrue(seconds < 25, "ended after " + seconds + " s of a 30-minute budget");
    }
  }
}
