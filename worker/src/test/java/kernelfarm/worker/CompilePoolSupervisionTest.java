package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The CompilePool under WorkerNode's supervision: a pool that fails answers the compiles it was running and
 * leaves no process behind, and a GpuWorker whose pool is gone hands its leases back instead of renewing them for
 * builds nobody will run. Real harness processes, cpu backend.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CompilePoolSupervisionTest {
  /** Leases renewed every second, so a renewal that should not happen shows within a test. */
  private final Config config = ConfigFactory.parseString("kernelfarm.worker.lease = 3s")
      .withFallback(TestWorkers.config());
  private final ActorTestKit kit = ActorTestKit.create(config);
  private final WorkerSettings settings = TestWorkers.settings(config);
  private final HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
  private final Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aFailedPoolAnswersWhatItWasCompilingAndLeavesNoProcessBehind() {
    long before = TestWorkers.harnessProcesses();
    ActorRef<CompilePool.Command> pool = kit.spawn(WorkerNode.supervisedPool(TestWorkers.failingOn(
            CompilePool.Command.class,
            m -> m instanceof CompilePool.Compile c && c.candidate().source().startsWith("# crash"),
            CompilePool.create(launcher, Device.cpu()))),
        "compile-pool", DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    TestProbe<CompilePool.Compiled> asker = kit.createTestProbe();
    // Hangs at import, so its build is still running when the pool fails.
    Candidate slow = Candidate.of(problem.id(), Backend.CPU, "import time\ntime.sleep(600)\n");
    pool.tell(new CompilePool.Compile(slow, problem, VerifySettings.defaults(), asker.getRef()));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      // The running compile's process and the spare started to replace it.
      assertEquals(2, TestWorkers.harnessProcesses() - before);
      return null;
    });

    pool.tell(new CompilePool.Compile(Candidate.of(problem.id(), Backend.CPU, "# crash"), problem,
        VerifySettings.defaults(), kit.<CompilePool.Compiled>createTestProbe().getRef()));
    CompilePool.Compiled answer = asker.receiveMessage(Duration.ofSeconds(10));
    assertEquals(slow.id(), answer.job().candidate().id());
    assertNull(answer.compileError(), "decides nothing: the evaluation builds what is missing");
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(settings.compileSlots(), TestWorkers.harnessProcesses() - before,
          "only the restarted pool's spares");
      return null;
    });
  }

  @Test
  void aWorkerWhosePoolIsGoneHandsBackItsLeasesAndStopsRenewingThem() {
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    TestProbe<CompilePool.Command> pool = kit.createTestProbe();
    kit.spawn(GpuWorker.create(Device.cpu(), "node", settings, launcher, TestWorkers.dispatcher(kit, dispatcher), pool.getRef(),
        WorkerMetrics.unscraped()));
    var request = dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
    request.replyTo().tell(new DispatcherProtocol.WorkOffer("lease-c", Candidate.of(problem.id(), Backend.CPU,
        "# lease-c"), problem, VerifySettings.defaults(), settings.lease()));
    pool.expectMessageClass(CompilePool.Compile.class);

    pool.stop();
    var released = (DispatcherProtocol.ReleaseLease) dispatcher.fishForMessage(Duration.ofSeconds(10),
        m -> m instanceof DispatcherProtocol.ReleaseLease ? FishingOutcomes.complete()
            : FishingOutcomes.continueAndIgnore()).get(0);
    assertEquals(java.util.List.of("lease-c"), released.leaseIds());
    // Three renewal periods: neither a renewal nor a request for more work.
    dispatcher.expectNoMessage(Duration.ofSeconds(3));
  }
}
