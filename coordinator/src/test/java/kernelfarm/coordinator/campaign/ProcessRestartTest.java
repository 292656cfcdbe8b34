package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.llm.FakeLlmServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The coordinator as its own JVM ({@code kfarm campaign}, both roles), killed with SIGKILL mid-campaign and started
 * again with the same campaign id on the same H2 store: the campaign resumes and finishes, no answered round is
 * asked of the LLM again, and no verdict is lost.
 */
@Tag("slow")
class ProcessRestartTest {
  private final ObjectMapper json = new ObjectMapper();

  /**
   * {@code kfarm campaign} on 1_GELU_tanh and 4_SumSquares (2 branches x 3 rounds) as its own JVM, on the H2 store
   * in {@code store}, asking {@code llm}; {@code nodeArgs} say which roles it plays and which cluster it joins.
   */
  static Process launchCampaign(FakeLlmServer llm, Path store, Path out, Path log, String id, List<String> nodeArgs)
      throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "kernelfarm.coordinator.Main", "campaign"));
    command.addAll(nodeArgs);
    command.addAll(List.of("--problems", Path.of("../examples/problems").toAbsolutePath().toString(),
        "--only", "1_GELU_tanh,4_SumSquares", "--id", id, "--branches", "2", "--rounds", "3",
        "--budget", "PT10M", "--trials", "3", "--timing-trials", "20", "--backend", "cpu", "--out", out.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Map<String, String> env = builder.environment();
    env.put("KFARM_LLM_BASE_URL", llm.baseUrl().toString());
    env.put("KFARM_LLM_MODEL", "fake-model");
    env.put("KFARM_STORE_URL", "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath());
    env.put("KFARM_PROMPTS", Path.of("../prompts").toAbsolutePath().toString());
    env.put("KFARM_DEVICES", "cpu");
    env.put("KFARM_WORK_DIR", Path.of("target/kfarm-test-work").toAbsolutePath().toString());
    return builder.start();
  }

  @Test
  void aKilledCoordinatorProcessResumesTheCampaignWithoutAskingAnsweredRoundsAgain() throws Exception {
    ScriptedModel model = new ScriptedModel();
    model.slowThirdRounds = true;
    Path dir = Files.createTempDirectory("kfarm-process-restart");
    Path out = dir.resolve("results");
    Path log = dir.resolve("node.log");
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      Process first = launchCampaign(llm, dir, out, log, "killed", List.of());
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      // A round-3 request means every branch of that problem had rounds 1 and 2 judged and persisted.
      while (roundRequests(llm, 3) < 4) {
        assertTrue(first.isAlive(), "the first process ended early: " + Files.readString(log));
        assertTrue(System.nanoTime() < deadline, "no round 3 within 5 minutes: " + Files.readString(log));
        Thread.sleep(200);
      }
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no coordinated shutdown, no flush
      assertEquals(4, roundRequests(llm, 1));
      assertEquals(4, roundRequests(llm, 2));
      model.slowThirdRounds = false;
      Process second = launchCampaign(llm, dir, out, log, "killed", List.of());
      assertTrue(second.waitFor(8, TimeUnit.MINUTES), "the resumed campaign did not finish: " + Files.readString(log));
      assertEquals(0, second.exitValue(), Files.readString(log));
      assertEquals(4, roundRequests(llm, 1), "round 1 was asked again after the restart");
      assertEquals(4, roundRequests(llm, 2), "round 2 was asked again after the restart");
      JsonNode results = json.readTree(out.resolve("results.json").toFile());
      for (JsonNode problem : results.path("problems")) {
        assertEquals(6, problem.path("roundsJudged").asInt(), problem.path("problemId").asText());
        assertTrue(problem.path("finished").asBoolean());
      }
      assertEquals(2, results.path("problems").size());
    }
  }

  /** How many LLM requests asked for round {@code round} (the conversation holds round - 1 answers). */
  static int roundRequests(FakeLlmServer llm, int round) {
    int n = 0;
    for (FakeLlmServer.Recorded r : llm.requests()) {
      if (r.body() == null) {
        continue; // not a chat completion: the reachability check before a campaign starts
      }
      int assistants = 0;
      for (JsonNode m : r.body().path("messages")) {
        if (m.path("role").asText().equals("assistant")) {
          assistants++;
        }
      }
      if (assistants == round - 1) {
        n++;
      }
    }
    return n;
  }
}
