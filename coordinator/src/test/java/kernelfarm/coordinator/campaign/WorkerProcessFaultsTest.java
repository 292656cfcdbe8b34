package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** {@code kfarm node --roles worker} joining the coordinator at {@code port}, with a work folder of its own. */
  private static Process launchWorker(int port, Path workDir, Path log) throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "kernelfarm.coordinator.Main", "node", "--roles", "worker",
        "--join", "127.0.0.1:" + port, "--port", "0"));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    Map<String, String> env = builder.environment();
    env.put("KFARM_DEVICES", "cpu");
    env.put("KFARM_WORK_DIR", workDir.toAbsolutePath().toString());
    env.remove("KFARM_LLM_API_KEY");
    return builder.start();
  }

  /**
   * Live processes whose command line or environment names {@code folder}: the sandboxes (bwrap's arguments) and
   * harness interpreters (HOME is their scratch) of a worker using it.
   */
  private static List<String> processesUsing(Path folder) throws IOException {
    String needle = folder.toAbsolutePath().toString();
    List<String> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
        try {
          String cmdline = new String(Files.readAllBytes(p.resolve("cmdline"))).replace('\0', ' ');
          String environ = Files.isReadable(p.resolve("environ"))
              ? new String(Files.readAllBytes(p.resolve("environ"))) : "";
          if (cmdline.contains(needle) || environ.contains(needle)) {
            found.add(p.getFileName() + ": " + cmdline);
          }
        } catch (IOException e) {
          // the process ended meanwhile
        }
      }
    }
    return found;
  }

  @Test
  void aWorkerKilledMidLeaseCostsOnlyTime() throws Exception {
    ScriptedModel model = new ScriptedModel();
    Path dir = Files.createTempDirectory("kfarm-worker-faults");
    Path out = dir.resolve("results");
    Path log = dir.resolve("coordinator.log");
    Path firstWork = dir.resolve("worker-1");
    Path secondWork = dir.resolve("worker-2");
    int port = freePort();
    Process first = null;
    Process second = null;
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      Process coordinator = ProcessRestartTest.launchCampaign(llm, dir, out, log, "worker-killed",
          List.of("--roles", "coordinator", "--port", Integer.toString(port)));
      first = launchWorker(port, firstWork, dir.resolve("worker-1.log"));
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      // A round-2 request means a verdict came back: the worker is up, pulling, and holds the other branches' work.
      while (ProcessRestartTest.roundRequests(llm, 2) < 1) {
        assertTrue(coordinator.isAlive(), "the coordinator ended early: " + Files.readString(log));
        assertTrue(first.isAlive(), "the worker ended early: " + Files.readString(dir.resolve("worker-1.log")));
        assertTrue(System.nanoTime() < deadline, "no verdict within 5 minutes: " + Files.readString(log));
        Thread.sleep(200);
      }
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: its leases are neither finished nor returned
      second = launchWorker(port, secondWork, dir.resolve("worker-2.log"));
      assertTrue(coordinator.waitFor(10, TimeUnit.MINUTES), "the campaign did not finish after the worker died: "
          + Files.readString(log));
      assertEquals(0, coordinator.exitValue(), Files.readString(log));

      for (int round = 1; round <= 3; round++) {
        assertEquals(4, ProcessRestartTest.roundRequests(llm, round), "round " + round + " asked once per branch");
      }
      JsonNode results = json.readTree(out.resolve("results.json").toFile());
      assertEquals(2, results.path("problems").size());
      for (JsonNode problem : results.path("problems")) {
        assertEquals(6, problem.path("roundsJudged").asInt(), "one verdict per round: " + problem.path("problemId"));
        assertTrue(problem.path("finished").asBoolean());
      }
      second.destroy(); // SIGTERM: the survivor leaves as an operator would stop it
      assertTrue(second.waitFor(2, TimeUnit.MINUTES), "the second worker did not stop on SIGTERM");
      Thread.sleep(2000);
      assertEquals(List.of(), processesUsing(firstWork), "harness processes of the killed worker outlived it");
      assertEquals(List.of(), processesUsing(secondWork), "harness processes of the stopped worker outlived it");
    } finally {
      for (Process p : new Process[] {first, second}) {
        if (p != null && p.isAlive()) {
          p.destroyForcibly();
        }
      }
    }
  }
}
