package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.device.Device;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A worker node's coordinated shutdown (what SIGTERM runs) drains its GpuWorkers before the node goes: the
 * evaluation in progress finishes and its verdict is reported, the node waits for the ack, and it asks for no more
 * work meanwhile; afterwards no harness process is left. A real worker node (CompilePool, Evaluator, harness on the
 * cpu backend); a probe is the Dispatcher.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WorkerDrainTest {
  private final Path workDir = Path.of("target/kfarm-drain-test-" + ProcessHandle.current().pid());
  private final Config config = ConfigFactory.parseString("""
      pekko.coordinated-shutdown.phases.service-requests-done.timeout = 120s
      kernelfarm.worker.drain-timeout = 120s
      """).withFallback(TestWorkers.config(workDir.toString()));
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void shutdownFinishesTheEvaluationInProgressAndWaitsForItsAck() throws Exception {
    long before = TestWorkers.harnessProcesses();
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    WorkerNode.init(kit.system(), TestWorkers.settings(config), List.of(Device.cpu()), TestWorkers.dispatcher(kit, dispatcher));
    Problem problem = new Problem("drain/relu", 1, "relu", HealthCheck.PROBLEM_SOURCE);
    // Builds nothing and takes a few seconds to evaluate (a second per call on real tensors), so the shutdown
    // below lands while it is being evaluated.
    String source = HealthCheck.CANDIDATE_SOURCE.replace("return torch.relu(x) * 2.0 + 1.0", """
        if x.device.type != "meta":
                    import time
                    time.sleep(1)  # drain-test-marker
                return torch.relu(x) * 2.0 + 1.0""");
    Candidate candidate = Candidate.of(problem.id(), Backend.CPU, source);
    var request = dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class, Duration.ofSeconds(30));
    request.replyTo().tell(new DispatcherProtocol.WorkOffer("lease-drain", candidate, problem,
        new VerifySettings(2, 1e-2, 1e-2, 1, 2, false, false, 42), Duration.ofMinutes(10)));
    // It has room for one more and asks; that request stays unanswered.
    dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class, Duration.ofSeconds(30));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(120), () -> {
      assertEquals(true, evaluationStarted(), "an evaluation process was handed the candidate");
      return null;
    });

    TestProbe<Object> afterwards = kit.createTestProbe(); // made now: no probe can be made once the node is gone
    CompletableFuture<Done> shutdown = CoordinatedShutdown.get(kit.system())
        .runAll(CoordinatedShutdown.unknownReason()).toCompletableFuture();
    var reported = (DispatcherProtocol.ReportVerdict) dispatcher.fishForMessage(Duration.ofSeconds(120), m -> {
      if (m instanceof DispatcherProtocol.RequestWork) {
        throw new AssertionError("asked for work while draining");
      }
      return m instanceof DispatcherProtocol.ReportVerdict ? FishingOutcomes.complete()
          : FishingOutcomes.continueAndIgnore();
    }).get(0);
    assertEquals("lease-drain", reported.leaseId(), "the evaluation in progress finished");
    Thread.sleep(1000); // the node must still be there, waiting for the ack
    assertFalse(shutdown.isDone(), "the node waits for its verdict's ack");
    reported.replyTo().tell(new DispatcherProtocol.VerdictAck(reported.leaseId()));
    shutdown.get(60, TimeUnit.SECONDS);
    afterwards.awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(before, TestWorkers.harnessProcesses(), "no harness process outlives the node");
      return null;
    });
  }

  private boolean evaluationStarted() throws Exception {
    try (Stream<Path> runs = Files.list(workDir.resolve("runs"))) {
      return runs.filter(run -> run.getFileName().toString().contains("-evaluate-"))
          .map(run -> run.resolve("scratch").resolve("candidate.py"))
          .anyMatch(file -> {
            try {
              return Files.isRegularFile(file) && Files.readString(file).contains("drain-test-marker");
            } catch (java.io.IOException gone) {
              return false;
            }
          });
    }
  }
}
