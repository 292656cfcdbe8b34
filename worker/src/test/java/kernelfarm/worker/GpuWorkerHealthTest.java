package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A device whose evaluation processes keep failing to start hands its leases back at once and asks for no work
 * until a health check (a known computation through the real harness, compared with the host's answer) passes.
 * The fault is real: the folder every process starts in is a plain file until the test removes it.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuWorkerHealthTest {
  private final Path workDir = Path.of("target/kfarm-health-test-" + ProcessHandle.current().pid());
  private final Config config = TestWorkers.config(workDir.toString());
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void anUnhealthyDeviceHandsBackItsLeasesAndPullsAgainOnlyAfterAHealthCheckPasses() throws Exception {
    WorkerSettings settings = TestWorkers.settings(config);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    Path runs = workDir.resolve("runs");
    if (Files.isDirectory(runs)) {
      try (var old = Files.walk(runs)) {
        old.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    Files.writeString(runs, "not a folder: no harness process can start here");
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    TestProbe<CompilePool.Command> compilePool = kit.createTestProbe();
    kit.spawn(GpuWorker.create(Device.cpu(), "node", settings, launcher, dispatcher.getRef(),
        compilePool.getRef()));

    // Two candidates leased before the device is found sick; they sit in the compile pool's queue.
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");
    for (String lease : List.of("lease-a", "lease-b")) {
      var request = dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
      request.replyTo().tell(new DispatcherProtocol.WorkOffer(lease, Candidate.of(problem.id(), Backend.CPU,
          "# " + lease), problem, VerifySettings.defaults(), settings.lease()));
    }

    var released = (DispatcherProtocol.ReleaseLease) dispatcher.fishForMessage(Duration.ofSeconds(30),
        m -> m instanceof DispatcherProtocol.ReleaseLease ? FishingOutcomes.complete()
            : FishingOutcomes.continueAndIgnore()).get(0);
    assertEquals(Set.of("lease-a", "lease-b"), Set.copyOf(released.leaseIds()), "every lease back at once");
    // Out of service: health checks fail (no process can start) and no work is asked for.
    dispatcher.expectNoMessage(Duration.ofSeconds(3));

    Files.delete(runs);
    var asked = dispatcher.fishForMessage(Duration.ofSeconds(90),
        m -> m instanceof DispatcherProtocol.RequestWork ? FishingOutcomes.complete()
            : FishingOutcomes.continueAndIgnore());
    assertEquals(1, asked.size(), "asks for work again once a health check passes");
  }
}
