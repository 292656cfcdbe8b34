package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.FakeLlmServer;
import kernelfarm.coordinator.llm.LlmEndpoint;
import kernelfarm.coordinator.problem.ProblemCoordinator;
import kernelfarm.coordinator.service.CampaignService;
import kernelfarm.coordinator.service.ServiceException;
import kernelfarm.coordinator.view.CampaignState;
import kernelfarm.coordinator.view.ProblemState;
import kernelfarm.coordinator.view.ViewQueries;
import kernelfarm.protocol.Status;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The read side and the CampaignService on one real node (both roles, H2 file store, real harness on the cpu
 * backend, the fake LLM): campaigns submitted through the service are projected into the read tables with the
 * entity's own scores, the projection resumes after a restart without repeating events, and a cancelled campaign
 * stops asking the model while keeping what was verified.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CampaignServiceTest {
  private static final Duration FINISH = Duration.ofMinutes(3);

  private final ObjectMapper json = new ObjectMapper();
  private final ScriptedModel model = new ScriptedModel();
  private FakeLlmServer llm;
  private Path store;

  @BeforeAll
  void start() throws Exception {
    llm = FakeLlmServer.start(json).responder(model::answer);
    store = Files.createTempDirectory("kfarm-view-store");
  }

  @AfterAll
  void stop() {
    llm.close();
  }

  Map<String, String> store() {
    return Map.of("kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath());
  }

  private Node startNode() {
    LlmEndpoint endpoint = new LlmEndpoint("fake", llm.baseUrl(), "fake-model", null, 8, Duration.ofSeconds(30), 2,
        1.0, 2.0);
    return Node.start(Node.config(TestNodes.overrides(store(), 1)), new Node.Deps(Clock.systemUTC(),
        HttpClient.newHttpClient(), List.of(endpoint)), true);
  }

  static String spec(String name, int branches, int rounds, String... problems) {
    String ids = String.join("\", \"", problems);
    return """
        {"name": "%s", "problems": {"source": "%s", "ids": ["%s"]}, "backend": "cpu",
         "search": {"branches": %d, "rounds": %d, "timeBudget": "PT10M", "stopRule": "SPEND_BUDGET", "topK": 0},
         "sampling": {"temperature": 0.7, "maxTokens": 4096}, "endpoints": ["fake"],
         "verify": {"correctnessTrials": 3, "atol": 0.01, "rtol": 0.01, "warmupRuns": 3, "timingTrials": 20,
                    "flushL2": true, "requireCustomKernel": false, "seed": 42}}
        """.formatted(name, Path.of("../examples/problems").toAbsolutePath(), ids, branches, rounds);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private ViewQueries.CampaignDetail awaitState(Node node, String id, CampaignState state, Duration within) {
    CampaignService service = node.service().orElseThrow();
    try {
      return TestProbe.create(node.system()).awaitAssert(within, Duration.ofMillis(300), () -> {
        ViewQueries.CampaignDetail d;
        try {
          d = await(service.get(id));
        } catch (Exception e) {
          throw new AssertionError("not listed yet: " + e.getMessage());
        }
        assertEquals(state, d.campaign().state());
        return d;
      });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; " + projectionState(id), e);
    }
  }

  /** Where each tag's projection stands against the journal: what a stalled read side is diagnosed from. */
  String projectionState(String campaignId) {
    Map<String, String> s = store();
    StringBuilder out = new StringBuilder("campaign tag " + CoordinatorEntities.tagFor("Campaign|" + campaignId));
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(s.get("kernelfarm.store.url"),
        s.getOrDefault("kernelfarm.store.user", "kfarm"), s.getOrDefault("kernelfarm.store.password", ""));
        java.sql.Statement q = c.createStatement()) {
      try (java.sql.ResultSet r = q.executeQuery("SELECT tag, seq_offset FROM kfarm_view_offsets ORDER BY tag")) {
        while (r.next()) {
          out.append(", offset ").append(r.getString(1)).append('=').append(r.getLong(2));
        }
      }
      try (java.sql.ResultSet r = q.executeQuery("SELECT MAX(\"ordering\"), COUNT(*) FROM \"event_journal\"")) {
        r.next();
        out.append(", journal max ordering ").append(r.getLong(1)).append(" of ").append(r.getLong(2)).append(" events");
      }
    } catch (java.sql.SQLException e) {
      out.append(", store unreadable: ").append(e.getMessage());
    }
    return out.toString();
  }

  @Test
  @Tag("slow") // about a minute: two campaigns verified for real, and a node restart
  void aFinishedCampaignIsInTheReadTablesWithTheEntitysOwnScores() throws Exception {
    String id = "view-" + System.nanoTime();
    try (Node node = startNode()) {
      CampaignService service = node.service().orElseThrow();
      CampaignService.Submitted submitted = await(service.submit(Optional.of(id),
          spec("view", 2, 2, "1_GELU_tanh", "4_SumSquares")));
      assertEquals(2, submitted.problems().size());
      ViewQueries.CampaignDetail detail = awaitState(node, id, CampaignState.FINISHED, FINISH);
      assertEquals(2, detail.campaign().problemsDone());
      assertEquals(2, detail.summary().problems());
      assertEquals(1.0, detail.summary().correctnessRate());
      assertEquals("view", detail.spec().name());

      for (String problemId : submitted.problems()) {
        ProblemResult entity = await(node.problem(id, problemId));
        ViewQueries.ProblemDetail view = await(service.problem(id, problemId, 0, 50));
        ViewQueries.ProblemRow row = view.problem();
        assertEquals(ProblemState.FINISHED, row.state());
        assertEquals(entity.roundsJudged(), row.roundsJudged());
        assertEquals(4, row.roundsJudged());
        assertEquals(entity.bestSpeedup(), row.bestSpeedup(), "entity and read side share one scoring");
        assertEquals(entity.best().candidateId().value(), row.bestCandidate());
        assertEquals(entity.statusCounts(), row.statusCounts());
        assertEquals(entity.curve(), row.curve());
        assertEquals(entity.tokensToBest(), row.tokensToBest());
        assertEquals(4, view.rounds().total());
        assertEquals(4, view.rounds().items().size());
        view.rounds().items().forEach(r -> assertNotNull(r.status(), "every round judged in the table"));

        ViewQueries.RoundDetail round = await(service.round(id, problemId, 0, 2));
        List<ProblemCoordinator.RoundView> rounds = await(node.rounds(id, problemId)).rounds();
        ProblemCoordinator.RoundView same = rounds.stream().filter(r -> r.branch() == 0 && r.round() == 2)
            .findFirst().orElseThrow();
        assertEquals(same.answer().prompt(), round.prompt());
        assertEquals(same.answer().reasoning(), round.reasoning());
        assertEquals(same.answer().candidate().source(), round.source());
        assertEquals(same.verdict(), round.verdict());

        ViewQueries.CandidateDetail candidate = await(service.candidate(id, row.bestCandidate()));
        assertEquals(entity.bestSource(), candidate.source());
        assertEquals(entity.best(), candidate.verdict());
        assertEquals(Status.CORRECT.name(), candidate.status());
      }
      ViewQueries.Leaderboard board = await(service.leaderboard(id, 0, 10));
      assertEquals(2, board.ranked().total());
      Double first = board.ranked().items().get(0).bestSpeedup();
      Double second = board.ranked().items().get(1).bestSpeedup();
      assertTrue(first >= second, "ranked by best speedup: " + first + " then " + second);

      ViewQueries.Page<ViewQueries.ProblemRow> page = await(service.problems(id, 1, 1));
      assertEquals(1, page.items().size());
      assertEquals(2, page.total());
      assertEquals(submitted.problems().stream().sorted().toList().get(1), page.items().get(0).problemId());
    }
    // A restarted node resumes each projection from its stored offset: nothing is applied twice.
    try (Node node = startNode()) {
      CampaignService service = node.service().orElseThrow();
      String next = "view-next-" + System.nanoTime();
      await(service.submit(Optional.of(next), spec("next", 1, 1, "4_SumSquares")));
      awaitState(node, next, CampaignState.FINISHED, FINISH);
      ViewQueries.CampaignDetail again = await(service.get(id));
      assertEquals(2, again.campaign().problemsDone(), "a replayed ProblemCompleted would count twice");
      String problemId = submitted(service, id).get(0);
      assertEquals(4, await(service.problem(id, problemId, 0, 50)).rounds().total());
      // The entity recovered from its snapshot (every 3 events here) with every round and the same score.
      ProblemResult recovered = await(node.problem(id, problemId));
      assertEquals(4, recovered.roundsJudged());
      assertEquals(await(service.problem(id, problemId, 0, 1)).problem().bestSpeedup(), recovered.bestSpeedup());
      assertEquals(4, await(node.rounds(id, problemId)).rounds().size());
      assertTrue(snapshots(id) > 0, "problems of this campaign were snapshotted");
    }
  }

  /** Snapshot rows of this campaign's problems, straight from the store. */
  long snapshots(String campaignId) throws Exception {
    Map<String, String> s = store();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(s.get("kernelfarm.store.url"),
        s.getOrDefault("kernelfarm.store.user", "kfarm"), s.getOrDefault("kernelfarm.store.password", ""));
        java.sql.PreparedStatement q = c.prepareStatement("SELECT COUNT(*) FROM \"snapshot\" WHERE \"persistence_id\" LIKE ?")) {
      q.setString(1, "ProblemCoordinator|" + campaignId + "~%");
      try (java.sql.ResultSet r = q.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  private static List<String> submitted(CampaignService service, String id) throws Exception {
    return await(service.get(id)).problemIds();
  }

  @Test
  void aCancelledCampaignStopsAskingAndKeepsWhatWasVerified() throws Exception {
    String id = "cancel-" + System.nanoTime();
    model.slowThirdRounds = true;
    try (Node node = startNode()) {
      CampaignService service = node.service().orElseThrow();
      await(service.submit(Optional.of(id), spec("cancel", 1, 3, "4_SumSquares")));
      String problem = await(service.submit(Optional.of(id), spec("cancel", 1, 3, "4_SumSquares"))).problems().get(0);
      TestProbe.create(node.system()).awaitAssert(FINISH, Duration.ofMillis(300), () -> {
        try {
          assertEquals(2, await(service.problem(id, problem, 0, 10)).problem().roundsJudged());
        } catch (Exception e) {
          throw new AssertionError(e.getMessage());
        }
        return null;
      });
      int asked = llm.requests().size();
      await(service.cancel(id));
      ViewQueries.CampaignDetail detail = awaitState(node, id, CampaignState.CANCELLED, Duration.ofSeconds(60));
      ViewQueries.ProblemRow row = await(service.problem(id, problem, 0, 10)).problem();
      assertEquals(ProblemState.CANCELLED, row.state());
      assertEquals(ProblemCoordinator.CANCELLED, row.finishReason());
      assertEquals(2, row.roundsJudged(), "verdicts before the cancel stay");
      assertNotNull(row.bestSpeedup());
      assertEquals(1, detail.summary().correct());
      assertTrue(llm.requests().size() <= asked + 1, "no round is asked after the cancel but the one in flight");

      ExecutionException again = assertThrows(ExecutionException.class, () -> await(service.cancel(id)));
      assertEquals(ServiceException.Kind.CONFLICT, ((ServiceException) again.getCause()).kind());
      ExecutionException unknown = assertThrows(ExecutionException.class, () -> await(service.cancel("no-such")));
      assertEquals(ServiceException.Kind.NOT_FOUND, ((ServiceException) unknown.getCause()).kind());
      ExecutionException otherSpec = assertThrows(ExecutionException.class,
          () -> await(service.submit(Optional.of(id), spec("other", 1, 2, "4_SumSquares"))));
      assertEquals(ServiceException.Kind.CONFLICT, ((ServiceException) otherSpec.getCause()).kind());
    } finally {
      model.slowThirdRounds = false;
    }
  }
}
