package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.llm.FakeLlmServer;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A three-node cluster where only the coordinator fails: two worker nodes run on in this JVM while the coordinator
 * node, its own JVM ({@code kfarm campaign --roles coordinator --join ...}), is SIGKILLed mid-campaign and started
 * again on the same store. The cluster downs the dead node, the new one takes over the Dispatcher and the shards,
 * the campaign resumes and finishes on the same workers, and no answered round is asked of the LLM again.
 */
@Tag("slow")
class CoordinatorNodeRestartTest {
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void aKilledCoordinatorNodeRejoinsTheWorkersAndResumesTheCampaign() throws Exception {
    ScriptedModel model = new ScriptedModel();
    model.slowThirdRounds = true;
    Path dir = Files.createTempDirectory("kfarm-coordinator-restart");
    Path out = dir.resolve("results");
    Path log = dir.resolve("coordinator.log");
    List<Node> workers = new ArrayList<>();
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      for (int i = 0; i < 2; i++) {
        workers.add(Node.start(Node.config(TestNodes.overrides(Map.of("pekko.cluster.roles", List.of("worker")), 1)),
            new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(), List.of()), i == 0));
      }
      var seed = Cluster.get(workers.get(0).system()).selfMember().address();
      Cluster.get(workers.get(1).system()).manager().tell(Join.create(seed));
      String join = seed.getHost().get() + ":" + seed.getPort().get();
      Set<String> workerIds = workers.stream().map(w -> w.system().address().toString()).collect(Collectors.toSet());

      Process first = ProcessNodes.launchCampaign(llm, dir, out, log, "coordinator-killed",
          List.of("--roles", "coordinator", "--join", join));
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (ProcessNodes.roundRequests(llm, 3) < 4) {
        assertTrue(first.isAlive(), "the first coordinator ended early: " + Files.readString(log));
        assertTrue(System.nanoTime() < deadline, "no round 3 within 5 minutes: " + Files.readString(log));
        Thread.sleep(200);
      }
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      assertEquals(4, ProcessNodes.roundRequests(llm, 1));
      assertEquals(4, ProcessNodes.roundRequests(llm, 2));
      model.slowThirdRounds = false;

      Process second = ProcessNodes.launchCampaign(llm, dir, out, log, "coordinator-killed",
          List.of("--roles", "coordinator", "--join", join));
      assertTrue(second.waitFor(8, TimeUnit.MINUTES), "the resumed campaign did not finish: " + Files.readString(log));
      assertEquals(0, second.exitValue(), Files.readString(log));
      assertEquals(4, ProcessNodes.roundRequests(llm, 1), "round 1 was asked again after the restart");
      assertEquals(4, ProcessNodes.roundRequests(llm, 2), "round 2 was asked again after the restart");
      JsonNode results = json.readTree(out.resolve("results.json").toFile());
      assertEquals(2, results.path("problems").size());
      for (JsonNode problem : results.path("problems")) {
        assertEquals(6, problem.path("roundsJudged").asInt(), problem.path("problemId").asText());
        assertTrue(problem.path("finished").asBoolean());
        String judgedBy = problem.path("best").path("device").path("nodeId").asText();
        assertTrue(workerIds.contains(judgedBy), "judged on a worker node of this JVM, not " + judgedBy);
      }
      // The killed coordinator was downed and removed, the second one left when its campaign ended: only the
      // workers remain, every one Up and reachable. (Listing a dead node as Up would pass a status-only check.)
      TestProbe<Object> probe = TestProbe.create(workers.get(0).system());
      probe.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(500), () -> {
        var state = Cluster.get(workers.get(0).system()).state();
        Set<String> members = new java.util.HashSet<>();
        for (var m : state.getMembers()) {
          members.add(m.address().toString());
          assertEquals(MemberStatus.up(), m.status(), m.toString());
        }
        assertEquals(workerIds, members, "members: the workers, and no coordinator left behind");
        assertTrue(state.getUnreachable().isEmpty(), "unreachable: " + state.getUnreachable());
        return null;
      });
    } finally {
      for (int i = workers.size() - 1; i >= 0; i--) {
        workers.get(i).close();
      }
    }
  }
}
