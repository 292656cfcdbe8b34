package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.llm.FakeLlmServer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Worker nodes as JVMs of their own beside a coordinator JVM ({@code kfarm campaign --roles coordinator}), on the
 * cpu backend: a worker killed with SIGKILL while it holds leases costs nothing but time. Its candidates are
 * verified by the worker that joins next, each once; no LLM round is asked twice; and no harness process of either
 * worker outlives the test.
 */
@Tag("slow")
class WorkerProcessFaultsTest {
  private final ObjectMapper json = new ObjectMapper();

  @Test
  void aWorkerKilledMidLeaseCostsOnlyTime() throws Exception {
    ScriptedModel model = new ScriptedModel();
    Path dir = Files.createTempDirectory("kfarm-worker-faults");
    Path out = dir.resolve("results");
    Path log = dir.resolve("coordinator.log");
    Path firstWork = dir.resolve("worker-1");
    Path secondWork = dir.resolve("worker-2");
    int port = ProcessNodes.freePort();
    Process coordinator = null;
    Process first = null;
    Process second = null;
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      coordinator = ProcessNodes.launchCampaign(llm, dir, out, log, "worker-killed",
          List.of("--roles", "coordinator", "--port", Integer.toString(port)));
      first = ProcessNodes.launchWorker(port, firstWork, dir.resolve("worker-1.log"));
      // A round-2 request means a verdict came back: the worker is up, pulling, and holds the other branches' work.
      ProcessNodes.await("a verdict", Duration.ofMinutes(5), () -> ProcessNodes.roundRequests(llm, 2) >= 1,
          Map.of(coordinator, log, first, dir.resolve("worker-1.log")));
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: its leases are neither finished nor returned
      second = ProcessNodes.launchWorker(port, secondWork, dir.resolve("worker-2.log"));
      assertTrue(coordinator.waitFor(10, TimeUnit.MINUTES), "the campaign did not finish after the worker died: "
          + Files.readString(log));
      ProcessNodes.assertCompleteOnce(coordinator, log, llm, out, json);

      second.destroy(); // SIGTERM: the survivor leaves as an operator would stop it
      assertTrue(second.waitFor(2, TimeUnit.MINUTES), "the second worker did not stop on SIGTERM");
      Thread.sleep(2000);
      assertEquals(List.of(), ProcessNodes.processesUsing(firstWork),
          "harness processes of the killed worker outlived it");
      assertEquals(List.of(), ProcessNodes.processesUsing(secondWork),
          "harness processes of the stopped worker outlived it");
    } finally {
      ProcessNodes.killAll(coordinator, first, second);
    }
  }
}
