package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A coordinator node and two worker nodes on loopback, the real harness on the cpu backend, the fake LLM: a
 * campaign of 3 problems x 4 branches x 3 rounds runs to the end, every candidate gets exactly one verdict, both
 * workers judge, and every prompt after round 1 is the feedback on the round before.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterCampaignTest {
  private static final Path PROBLEMS = Path.of("../examples/problems");

  private final ObjectMapper json = new ObjectMapper();
  private final ScriptedModel model = new ScriptedModel();
  private final List<Node> nodes = new ArrayList<>();
  private FakeLlmServer llm;
  private List<Problem> problems;

  @BeforeAll
  void formCluster() throws Exception {
    llm = FakeLlmServer.start(json).responder(model::answer);
    problems = ProblemLibrary.load(PROBLEMS, json).all().stream()
        .filter(p -> !p.name().equals("3_RowSoftmax")).toList();
    assertEquals(3, problems.size());
    Path store = Files.createTempDirectory("kfarm-cluster-store");
    LlmEndpoint endpoint = new LlmEndpoint("fake", llm.baseUrl(), "fake-model", null, 16, Duration.ofSeconds(30),
        2, 0, 0);
    for (String role : List.of("coordinator", "worker", "worker")) {
      Config overrides = TestNodes.overrides(Map.of(
          "kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath(),
          "pekko.cluster.roles", List.of(role)), 1);
      nodes.add(Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(),
          List.of(endpoint)), role.equals("coordinator")));
    }
    var first = Cluster.get(nodes.get(0).system()).selfMember().address();
    nodes.subList(1, 3).forEach(n -> Cluster.get(n.system()).manager().tell(Join.create(first)));
    TestProbe<Object> probe = TestProbe.create(nodes.get(0).system());
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      for (Node n : nodes) {
        long up = 0;
        for (var m : Cluster.get(n.system()).state().getMembers()) {
          if (m.status() == MemberStatus.up()) {
            up++;
          }
        }
        assertEquals(3, up, "members Up seen from " + n.system().address());
      }
      return null;
    });
  }

  @AfterAll
  void stop() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close();
    }
    llm.close();
  }

  @Test
  void aCampaignOfThreeProblemsFourBranchesThreeRoundsCompletesAcrossTwoWorkers() throws Exception {
    Node coordinator = nodes.get(0);
    String campaignId = "cluster-" + System.nanoTime();
    VerifySettings quick = new VerifySettings(3, 1e-2, 1e-2, 3, 20, true, false, 42);
    CampaignSpec spec = new CampaignSpec("cluster",
        new CampaignSpec.ProblemSelection(PROBLEMS.toString(), List.of(), List.of()), Backend.CPU,
        new CampaignSpec.Search(4, 3, Duration.ofMinutes(10), CampaignSpec.StopRule.SPEND_BUDGET, null, 0, 0),
        new CampaignSpec.Sampling(0.7, 4096, null), List.of("fake"), quick);
    coordinator.submit(campaignId, spec, problems).toCompletableFuture().get(30, TimeUnit.SECONDS);
    TestProbe<Object> probe = TestProbe.create(coordinator.system());
    Campaign.Progress progress = probe.awaitAssert(Duration.ofMinutes(10), Duration.ofSeconds(1), () -> {
      Campaign.Progress p = coordinator.progress(campaignId).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertNotNull(p.finished(), "campaign still running: " + p.results().keySet());
      return p;
    });
    FeedbackPrompt feedback = new FeedbackPrompt(PromptTemplates.load(Path.of("../prompts")));
    Set<String> judgedOn = new HashSet<>();
    Map<CandidateId, Verdict> verdictOf = new HashMap<>();
    for (Problem p : problems) {
      assertEquals(12, progress.results().get(p.id()).roundsJudged(), p.id());
      List<ProblemCoordinator.RoundView> rounds =
          coordinator.rounds(campaignId, p.id()).toCompletableFuture().get(30, TimeUnit.SECONDS).rounds();
      assertEquals(12, rounds.size(), p.id());
      Map<Integer, Double> best = new HashMap<>();
      for (ProblemCoordinator.RoundView view : rounds) {
        Verdict v = view.verdict();
        assertNotNull(v, p.id() + " branch " + view.branch() + " round " + view.round());
        assertEquals(view.answer().candidate().id(), v.candidateId());
        Verdict earlier = verdictOf.putIfAbsent(v.candidateId(), v);
        assertTrue(earlier == null || earlier.equals(v), "one verdict per candidate: " + v.candidateId());
        judgedOn.add(v.device().nodeId());
        if (view.round() < 3) {
          String expected = feedback.forVerdict(v, view.round(), best.get(view.branch())).message();
          ProblemCoordinator.RoundView next = rounds.stream()
              .filter(n -> n.branch() == view.branch() && n.round() == view.round() + 1).findFirst().orElseThrow();
          assertEquals(expected, next.answer().prompt(), "round " + next.round() + " carries its feedback");
        }
        if (v.correct()) {
          best.merge(view.branch(), v.timing().speedup(), Math::max);
        }
      }
    }
    assertEquals(36, verdictOf.size(), "36 distinct candidates, each judged once");
    assertEquals(2, judgedOn.size(), "both worker nodes judged candidates: " + judgedOn);
    assertEquals(36, llm.requests().size(), "one LLM call per round");
  }
}
