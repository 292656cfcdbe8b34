package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
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
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
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
  /** A health check starts a process: its log line comes seconds after the evaluation it follows. */
  private final ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString(
      "pekko.actor.testkit.typed.filter-leeway = 60s").withFallback(config));

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

  @Test
  void aCandidatesCudaErrorHasTheDeviceCheckedWhileItStaysInService() throws Exception {
    Path ownDir = Path.of(workDir + "-cuda-error");
    Config ownConfig = TestWorkers.config(ownDir.toString());
    WorkerSettings settings = TestWorkers.settings(ownConfig);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    TestProbe<Evaluator.Outcome> parent = kit.createTestProbe();
    ActorRef<Evaluator.Command> evaluator = kit.spawn(Evaluator.create(Device.cpu(), settings, launcher,
        parent.getRef()), "evaluator-cuda-error", DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    Problem problem = new Problem("test/relu", 1, "relu", """
        import torch
        import torch.nn as nn


        class Model(nn.Module):
            def forward(self, x):
                return torch.relu(x)


        def get_inputs():
            return [torch.randn(16, 64)]


        def get_init_inputs():
            return []
        """);
    // What a kernel with an out-of-bounds write gets from torch on a GPU; on the cpu backend the harness takes the
    // same words the same way.
    Candidate crashing = Candidate.of(problem.id(), Backend.CPU, """
        import torch.nn as nn


        class ModelNew(nn.Module):
            def forward(self, x):
                raise RuntimeError("CUDA error: an illegal memory access was encountered")
        """);
    HarnessRequests.Job job = HarnessRequests.prepare(ownDir, crashing, problem, ownDir.resolve("build-c"),
        VerifySettings.defaults());
    LoggingTestKit.info("health check after a candidate's CUDA error passed").expect(kit.system(), () -> {
      evaluator.tell(new Evaluator.Evaluate("lease-c", job, null));
      Evaluator.Outcome outcome = parent.receiveMessage(Duration.ofSeconds(90));
      assertEquals(Evaluator.Evaluated.class, outcome.getClass(), outcome.toString());
      assertTrue(((Evaluator.Evaluated) outcome).finished().result().path("verdict").path("devicePoisoned")
          .asBoolean(), "the harness said the CUDA context was lost");
      return null;
    });
    parent.expectNoMessage(Duration.ofSeconds(2));
  }
}
