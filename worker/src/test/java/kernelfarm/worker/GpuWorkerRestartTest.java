package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import java.time.Duration;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A GpuWorker that fails is restarted under WorkerNode's supervision, and its evaluation processes die with the
 * failed instance: the restarted one starts its own, and the count of harness processes on the host stays at one
 * device's spares. Real harness processes, cpu backend; probes stand in for the Dispatcher and the CompilePool.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuWorkerRestartTest {
  private final Config config = TestWorkers.config();
  private final ActorTestKit kit = ActorTestKit.create(config);

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  @Test
  void aCrashedWorkerRestartsWithoutOrphaningItsEvaluationProcesses() {
    WorkerSettings settings = TestWorkers.settings(config);
    HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    TestProbe<CompilePool.Command> compilePool = kit.createTestProbe();
    TestProbe<Done> crash = kit.createTestProbe();
    long before = TestWorkers.harnessProcesses();
    ActorRef<GpuWorker.Command> worker = kit.spawn(WorkerNode.supervised(TestWorkers.failingOn(GpuWorker.Command.class,
        m -> m instanceof GpuWorker.Drain drain && drain.replyTo().equals(crash.getRef()), GpuWorker.create(Device.cpu(), "node", settings,
        launcher, TestWorkers.dispatcher(kit, dispatcher), compilePool.getRef(), WorkerMetrics.unscraped()))), "gpu-worker-0");
    dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
    int spares = settings.warmEvaluators();
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(spares, TestWorkers.harnessProcesses() - before, "the first instance's spares");
      return null;
    });

    worker.tell(new GpuWorker.Drain(crash.getRef()));
    // The restarted instance asks for work again: it is up, and has started its own spares.
    // (The failed instance first handed back what it held: nothing here, but its pending request goes with it.)
    dispatcher.fishForMessage(Duration.ofSeconds(10), m -> m instanceof DispatcherProtocol.RequestWork
        ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(spares, TestWorkers.harnessProcesses() - before, "only the restarted instance's spares");
      return null;
    });
  }
}
