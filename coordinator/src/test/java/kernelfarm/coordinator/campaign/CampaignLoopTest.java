package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.FakeLlmServer;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.coordinator.prompt.FeedbackPrompt;
import kernelfarm.coordinator.prompt.PromptTemplates;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The closed loop on one real node (both roles, H2 file store, real harness on the cpu backend); the LLM is the
 * fake. Each answer carries a serial number, so a test can tell an answer recovered from the journal from one
 * asked again.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CampaignLoopTest {
  private static final Path PROBLEMS = Path.of("../examples/problems");
  private static final Duration FINISH = Duration.ofMinutes(6);

  private final ObjectMapper json = new ObjectMapper();
  private final ScriptedModel model = new ScriptedModel();
  private FakeLlmServer llm;
  private Path store;
  private List<Problem> problems;

  @BeforeAll
  void start() throws Exception {
    llm = FakeLlmServer.start(json).responder(model::answer);
    store = Files.createTempDirectory("kfarm-store");
    problems = ProblemLibrary.load(PROBLEMS, json).all().stream()
        .filter(p -> p.name().equals("1_GELU_tanh") || p.name().equals("4_SumSquares")).toList();
    assertEquals(2, problems.size());
  }

  @AfterAll
  void stop() {
    llm.close();
  }

  /** The journal's database: an H2 file here; PostgresCampaignLoopTest runs the same tests on PostgreSQL. */
  Map<String, String> store() {
    return Map.of("kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath());
  }

  private Node startNode() {
    Config overrides = TestNodes.overrides(store(), 2);
    LlmEndpoint endpoint = new LlmEndpoint("fake", llm.baseUrl(), "fake-model", null, 8, Duration.ofSeconds(30), 2,
        1.0, 2.0);
    return Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(),
        List.of(endpoint)), true);
  }

  private static CampaignSpec spec(String name, int branches, int rounds) {
    return spec(name, branches, rounds, 0);
  }

  private static CampaignSpec spec(String name, int branches, int rounds, int topK) {
    VerifySettings quick = new VerifySettings(3, 1e-2, 1e-2, 3, 20, true, false, 42);
    return new CampaignSpec(name, new CampaignSpec.ProblemSelection(PROBLEMS.toString(), List.of(), List.of()),
        Backend.CPU, new CampaignSpec.Search(branches, rounds, Duration.ofMinutes(10),
            CampaignSpec.StopRule.SPEND_BUDGET, null, topK, topK > 0 ? 1 : 0),
        new CampaignSpec.Sampling(0.7, 4096, null), List.of("fake"), quick);
  }

  private static Campaign.Progress awaitFinished(Node node, String campaignId) {
    TestProbe<Object> probe = TestProbe.create(node.system());
    return probe.awaitAssert(FINISH, Duration.ofSeconds(1), () -> {
      Campaign.Progress p = node.progress(campaignId).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertNotNull(p.finished(), "campaign still running: " + p.results().keySet());
      return p;
    });
  }

  private List<ProblemCoordinator.RoundView> rounds(Node node, String campaignId, Problem p) throws Exception {
    return node.rounds(campaignId, p.id()).toCompletableFuture().get(30, TimeUnit.SECONDS).rounds();
  }

  @Test
  void everyRoundGetsOneVerdictAndTheNextPromptIsItsFeedback() throws Exception {
    String campaignId = "loop-" + System.nanoTime();
    int before = llm.requests().size();
    try (Node node = startNode()) {
      node.submit(campaignId, spec("loop", 2, 2), problems).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Campaign.Progress progress = awaitFinished(node, campaignId);
      assertEquals(Set.of(problems.get(0).id(), problems.get(1).id()), progress.results().keySet());
      FeedbackPrompt feedback = new FeedbackPrompt(PromptTemplates.load(Path.of("../prompts")));
      List<String> sentPrompts = new ArrayList<>();
      llm.requests().subList(before, llm.requests().size()).forEach(r -> {
        JsonNode messages = r.body().path("messages");
        sentPrompts.add(messages.get(messages.size() - 1).path("content").asText());
      });
      assertEquals(2 * 2 * 2, sentPrompts.size(), "one LLM call per round, no more");
      for (Problem p : problems) {
        ProblemResult result = progress.results().get(p.id());
        assertEquals("every branch spent its rounds", result.finishReason());
        assertEquals(4, result.roundsAnswered());
        assertEquals(4, result.roundsJudged());
        assertTrue(result.correct(), p.id() + " found no correct candidate: " + result.statusCounts());
        assertTrue(result.promptTokens() > 0 && result.costUsd() > 0, "tokens and cost are accounted");
        Map<Integer, Double> best = new HashMap<>();
        for (ProblemCoordinator.RoundView view : rounds(node, campaignId, p)) {
          Verdict v = view.verdict();
          assertNotNull(v, p.id() + " branch " + view.branch() + " round " + view.round() + " has no verdict");
          assertEquals(view.answer().candidate().id(), v.candidateId());
          assertEquals("thinking about round " + view.round(), view.answer().reasoning());
          assertTrue(!view.answer().content().contains("thinking"), "reasoning is kept apart from the answer");
          if (p.name().equals("1_GELU_tanh")) {
            assertEquals(view.round() == 1 ? Status.INCORRECT : Status.CORRECT, v.status(), v.summary());
          }
          if (view.round() > 1) {
            assertTrue(sentPrompts.contains(view.answer().prompt()), "the persisted prompt was sent");
          }
          // The next round's prompt is this verdict's feedback, word for word.
          String expected = feedback.forVerdict(v, view.round(), best.get(view.branch())).message();
          if (view.round() < 2) {
            ProblemCoordinator.RoundView next = rounds(node, campaignId, p).stream()
                .filter(n -> n.branch() == view.branch() && n.round() == view.round() + 1).findFirst().orElseThrow();
            assertEquals(expected, next.answer().prompt());
          }
          if (v.correct()) {
            best.merge(view.branch(), v.timing().speedup(), Math::max);
          }
        }
      }
    }
  }

  @Test
  void theTopKRuleRestartsABranchFromTheBestCandidate() throws Exception {
    String campaignId = "topk-" + System.nanoTime();
    Problem sumSquares = problems.stream().filter(p -> p.name().equals("4_SumSquares")).findFirst().orElseThrow();
    int before = llm.requests().size();
    model.oneWeakFirstRound = true;
    try (Node node = startNode()) {
      node.submit(campaignId, spec("topk", 2, 2, 1), List.of(sumSquares)).toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      awaitFinished(node, campaignId);
      List<ProblemCoordinator.RoundView> rounds = rounds(node, campaignId, sumSquares);
      List<ProblemCoordinator.RoundView> restarted = rounds.stream()
          .filter(r -> r.round() == 1 && r.restartedFrom() != null).toList();
      // top-1 after round 1: the branch that holds the best candidate carries on, the other starts from it.
      assertEquals(1, restarted.size(), "exactly one branch restarts after round 1: " + rounds);
      ProblemCoordinator.RoundView r = restarted.get(0);
      ProblemCoordinator.RoundView from = rounds.stream().filter(v -> v.branch() == r.restartedFrom().get(0)
          && v.round() == r.restartedFrom().get(1)).findFirst().orElseThrow();
      assertTrue(from.branch() != r.branch());
      ProblemCoordinator.RoundView next = rounds.stream()
          .filter(v -> v.branch() == r.branch() && v.round() == 2).findFirst().orElseThrow();
      JsonNode sent = llm.requests().subList(before, llm.requests().size()).stream().map(q -> q.body())
          .filter(b -> b.path("messages").get(b.path("messages").size() - 1).path("content").asText()
              .equals(next.answer().prompt()))
          .findFirst().orElseThrow();
      List<String> assistants = new ArrayList<>();
      sent.path("messages").forEach(m -> {
        if (m.path("role").asText().equals("assistant")) {
          assistants.add(m.path("content").asText());
        }
      });
      assertEquals(List.of(from.answer().content()), assistants,
          "after the restart the conversation holds the best candidate, not the branch's own");
    } finally {
      model.oneWeakFirstRound = false;
    }
  }

  @Test
  void aRestartedNodeResumesTheCampaignWithoutAskingAnsweredRoundsAgain() throws Exception {
    String campaignId = "restart-" + System.nanoTime();
    Map<String, String> answeredBefore = new HashMap<>();
    model.slowThirdRounds = true;
    try (Node node = startNode()) {
      node.submit(campaignId, spec("restart", 1, 3), problems).toCompletableFuture().get(30, TimeUnit.SECONDS);
      TestProbe<Object> probe = TestProbe.create(node.system());
      probe.awaitAssert(FINISH, Duration.ofMillis(200), () -> {
        int judged = 0;
        for (Problem p : problems) {
          judged += (int) rounds(node, campaignId, p).stream().filter(r -> r.verdict() != null).count();
        }
        assertTrue(judged >= 3, "waiting for three verdicts before the stop");
        return null;
      });
      assertEquals(null, node.progress(campaignId).toCompletableFuture().get(30, TimeUnit.SECONDS).finished(),
          "the node must stop mid-campaign");
      for (Problem p : problems) {
        for (ProblemCoordinator.RoundView r : rounds(node, campaignId, p)) {
          answeredBefore.put(p.id() + "/" + r.branch() + "/" + r.round(), r.answer().content());
        }
      }
    }
    model.slowThirdRounds = false;
    try (Node node = startNode()) {
      Campaign.Progress progress = awaitFinished(node, campaignId);
      Set<String> contents = new HashSet<>();
      for (Problem p : problems) {
        assertEquals(3, progress.results().get(p.id()).roundsJudged(), p.id());
        for (ProblemCoordinator.RoundView r : rounds(node, campaignId, p)) {
          assertNotNull(r.verdict(), "no verdict lost: " + p.id() + " round " + r.round());
          String key = p.id() + "/" + r.branch() + "/" + r.round();
          if (answeredBefore.containsKey(key)) {
            assertEquals(answeredBefore.get(key), r.answer().content(), key + " was asked again after the restart");
          }
          assertTrue(contents.add(r.answer().content()), "each round has its own answer");
        }
      }
    }
  }
}
