package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessRequests;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Evaluator alone, a probe for its GpuWorker: when evaluation processes keep failing to start it declines the
 * candidate waiting for one and says the device is unhealthy; a health check (a known computation through the
 * real harness, compared with the host's answer) then runs with backoff, and only once one passes does it say the
 * device is healthy. The fault is real: the folder every process starts in is a plain file until the test
 * removes it.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvaluatorHealthTest {
  private final Path workDir = Path.of("target/kfarm-health-test-" + ProcessHandle.current().pid());
  private final Config config = TestWorkers.config(workDir.toString());
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aDeviceWhoseProcessesCannotStartIsUnhealthyUntilAHealthCheckPasses() throws Exception {
    WorkerSettings settings = TestWorkers.settings(config);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    Path runs = workDir.resolve("runs");
    if (Files.isDirectory(runs)) {
      try (var old = Files.walk(runs)) {
        old.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    Files.writeString(runs, "not a folder: no harness process can start here");
    TestProbe<Evaluator.Outcome> parent = kit.createTestProbe();
    ActorRef<Evaluator.Command> evaluator = kit.spawn(Evaluator.create(Device.cpu(), settings, launcher,
        parent.getRef()), "evaluator", DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");
    Candidate candidate = Candidate.of(problem.id(), Backend.CPU, "# waiting");
    evaluator.tell(new Evaluator.Evaluate("lease-a", new HarnessRequests.Job(candidate, problem,
        workDir.resolve("c.py"), workDir.resolve("p.py"), workDir.resolve("build"), VerifySettings.defaults()), null));

    assertEquals(new Evaluator.Declined("lease-a", "the device is out of service"),
        parent.receiveMessage(Duration.ofSeconds(30)), "the waiting candidate is given up at once");
    assertEquals(Evaluator.Unhealthy.class, parent.receiveMessage().getClass());
    // Health checks keep failing while no process can start; nothing is said until one passes.
    parent.expectNoMessage(Duration.ofSeconds(3));

    Files.delete(runs);
    assertEquals(new Evaluator.Healthy(), parent.receiveMessage(Duration.ofSeconds(90)));
  }
}
