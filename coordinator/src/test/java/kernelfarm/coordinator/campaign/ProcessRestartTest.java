package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

  @Test
  void aKilledCoordinatorProcessResumesTheCampaignWithoutAskingAnsweredRoundsAgain() throws Exception {
    ScriptedModel model = new ScriptedModel();
    model.slowThirdRounds = true;
    Path dir = Files.createTempDirectory("kfarm-process-restart");
    Path out = dir.resolve("results");
    Path log = dir.resolve("node.log");
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      Process first = ProcessNodes.launchCampaign(llm, dir, out, log, "killed", List.of());
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      // A round-3 request means every branch of that problem had rounds 1 and 2 judged and persisted.
      while (ProcessNodes.roundRequests(llm, 3) < 4) {
        assertTrue(first.isAlive(), "the first process ended early: " + Files.readString(log));
        assertTrue(System.nanoTime() < deadline, "no round 3 within 5 minutes: " + Files.readString(log));
        Thread.sleep(200);
      }
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no coordinated shutdown, no flush
      assertEquals(4, ProcessNodes.roundRequests(llm, 1));
      assertEquals(4, ProcessNodes.roundRequests(llm, 2));
      model.slowThirdRounds = false;
      Process second = ProcessNodes.launchCampaign(llm, dir, out, log, "killed", List.of());
      assertTrue(second.waitFor(8, TimeUnit.MINUTES), "the resumed campaign did not finish: " + Files.readString(log));
      assertEquals(0, second.exitValue(), Files.readString(log));
      // Round 3 was in flight when the node died, so it is rightly asked again; answered rounds never are.
      assertEquals(4, ProcessNodes.roundRequests(llm, 1), "round 1 was asked again after the restart");
      assertEquals(4, ProcessNodes.roundRequests(llm, 2), "round 2 was asked again after the restart");
      ProcessNodes.assertJudgedOnce(out, json);
    }
  }
}
