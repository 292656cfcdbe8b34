package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
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
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Evaluator alone, a probe for its GpuWorker: when it fails and is restarted, it declines what it was asked
 * (so the GpuWorker asks again rather than wait for an answer that died) and its processes die with it.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EvaluatorRestartTest {
  private final Config config = TestWorkers.config();
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aRestartedEvaluatorDeclinesWhatItWasAskedAndLeavesNoProcessBehind() {
    WorkerSettings settings = TestWorkers.settings(config);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    long before = TestWorkers.harnessProcesses();
    TestProbe<Evaluator.Outcome> parent = kit.createTestProbe();
    ActorRef<Evaluator.Command> evaluator = kit.spawn(Behaviors.supervise(TestWorkers.failingOn(
                Evaluator.Command.class, m -> m instanceof Evaluator.Evaluate e && e.leaseId().equals("crash"),
                Evaluator.create(Device.cpu(), settings, launcher, parent.getRef())))
            .onFailure(SupervisorStrategy.restart()),
        "evaluator", DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(settings.warmEvaluators(), TestWorkers.harnessProcesses() - before, "the first spares");
      return null;
    });
    // Asked while its spares still import torch, so it is waiting when the failure comes.
    evaluator.tell(new Evaluator.Evaluate("lease-1", job("# lease-1"), null));
    evaluator.tell(new Evaluator.Evaluate("crash", job("# crash"), null));

    assertEquals(new Evaluator.Declined("lease-1", "the evaluator restarted"), parent.receiveMessage());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(settings.warmEvaluators(), TestWorkers.harnessProcesses() - before,
          "only the restarted instance's spares");
      return null;
    });
  }

  private static HarnessRequests.Job job(String source) {
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");
    Path dir = Path.of("target/evaluator-restart-test");
    return new HarnessRequests.Job(Candidate.of(problem.id(), Backend.CPU, source), problem, dir.resolve("c.py"),
        dir.resolve("p.py"), dir.resolve("build"), VerifySettings.defaults());
  }
}
