package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DeviceState;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * GpuWorker alone: probes stand in for the Dispatcher, the CompilePool and its Evaluator, so the lease protocol is
 * tested without a process. Only the launcher is real (GpuWorker reads its settings; nothing is started here).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GpuWorkerTest {
  /** A long lease: no renewal tick lands inside a test unless the test waits for one. */
  private final Config config = ConfigFactory.parseString("kernelfarm.worker.lease = 600s")
      .withFallback(TestWorkers.config());
  private final ActorTestKit kit = ActorTestKit.create(config);
  private final WorkerSettings settings = TestWorkers.settings(config);
  private final HarnessLauncher launcher = TestWorkers.launcher(kit.system(), settings);
  private final Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  /** One GpuWorker with its three neighbours as probes; its DeviceReports come apart from the lease protocol. */
  private final class Rig {
    final TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    final TestProbe<DispatcherProtocol.DeviceReport> reports = kit.createTestProbe();
    final TestProbe<CompilePool.Command> pool = kit.createTestProbe();
    final TestProbe<Evaluator.Command> evaluator = kit.createTestProbe();
    final AtomicReference<ActorRef<Evaluator.Outcome>> outcomes = new AtomicReference<>();
    final ActorRef<GpuWorker.Command> worker;

    Rig() {
      this(settings);
    }

    Rig(WorkerSettings settings) {
      worker = kit.spawn(GpuWorker.create(Device.cpu(), "node", settings, launcher,
          TestWorkers.dispatcher(kit, dispatcher, reports), pool.getRef(), parent -> {
            outcomes.set(parent);
            return Behaviors.monitor(Evaluator.Command.class, evaluator.getRef(), Behaviors.ignore());
          }));
    }

    /** Answers the worker's request for work with this lease; returns the compile it asks for. */
    CompilePool.Compile offer(String leaseId) {
      var request = dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
      request.replyTo().tell(new DispatcherProtocol.WorkOffer(leaseId, Candidate.of(problem.id(), Backend.CPU,
          "# " + leaseId), problem, VerifySettings.defaults(), settings.lease()));
      return pool.expectMessageClass(CompilePool.Compile.class);
    }

    /** Compiles it without error; returns what the worker then asks its Evaluator. */
    Evaluator.Evaluate compiled(CompilePool.Compile compile) {
      Path dir = Path.of("target/gpu-worker-test");
      compile.replyTo().tell(new CompilePool.Compiled(new HarnessRequests.Job(compile.candidate(), compile.problem(),
          dir.resolve("c.py"), dir.resolve("p.py"), dir.resolve("build"), compile.settings()), null, 1, false));
      return evaluator.expectMessageClass(Evaluator.Evaluate.class);
    }

    /** The Evaluator's answer for a session the harness did not finish in time. */
    void timedOut(String leaseId) {
      outcomes.get().tell(new Evaluator.Evaluated(leaseId, new HarnessSession.Finished(leaseId, null, true,
          "timing", "exceeded the 180 s limit of stage timing", Path.of("target/gpu-worker-test/scratch"))));
    }

    DispatcherProtocol.ReportVerdict reported() {
      return dispatcher.expectMessageClass(DispatcherProtocol.ReportVerdict.class);
    }

    /** The first DeviceReport from now on that {@code matches}; earlier ones are skipped. */
    DispatcherProtocol.DeviceReport reportWhere(Predicate<DispatcherProtocol.DeviceReport> matches) {
      return reports.fishForMessage(Duration.ofSeconds(3),
          r -> matches.test(r) ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore()).get(0);
    }
  }

  @Test
  void anOfferIsCompiledEvaluatedAndReportedUntilAcked() {
    Rig rig = new Rig();
    Evaluator.Evaluate evaluate = rig.compiled(rig.offer("lease-1"));
    assertEquals("lease-1", evaluate.leaseId());
    rig.dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class); // room for one more
    rig.timedOut("lease-1");
    DispatcherProtocol.ReportVerdict report = rig.reported();
    assertEquals("lease-1", report.leaseId());
    assertEquals(Status.TIMEOUT, report.verdict().status());
  }

  @Test
  void anUnhealthyDeviceHandsBackAllButTheEvaluationAndPullsAgainWhenHealthy() {
    Rig rig = new Rig();
    rig.compiled(rig.offer("lease-eval"));
    rig.offer("lease-compiling");
    rig.outcomes.get().tell(new Evaluator.Unhealthy("processes keep failing to start"));
    var released = rig.dispatcher.expectMessageClass(DispatcherProtocol.ReleaseLease.class);
    assertEquals(List.of("lease-compiling"), released.leaseIds(), "the one being evaluated finishes");
    rig.timedOut("lease-eval");
    assertEquals("lease-eval", rig.reported().leaseId());
    rig.dispatcher.expectNoMessage(Duration.ofMillis(500)); // asks for nothing while unhealthy

    rig.outcomes.get().tell(new Evaluator.Healthy());
    rig.dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
  }

  @Test
  void aDeclinedEvaluationIsAskedAgainWhileTheDeviceIsHealthy() {
    Rig rig = new Rig();
    rig.compiled(rig.offer("lease-1"));
    rig.outcomes.get().tell(new Evaluator.Declined("lease-1", "the evaluator restarted"));
    assertEquals("lease-1", rig.evaluator.expectMessageClass(Evaluator.Evaluate.class).leaseId());
  }

  @Test
  void drainingHandsBackWhatIsNotBeingEvaluatedFinishesTheRestAndStops() {
    Rig rig = new Rig();
    rig.compiled(rig.offer("lease-eval"));
    rig.offer("lease-compiling");
    TestProbe<Done> drained = kit.createTestProbe();
    rig.worker.tell(new GpuWorker.Drain(drained.getRef()));
    var released = rig.dispatcher.expectMessageClass(DispatcherProtocol.ReleaseLease.class);
    assertEquals(List.of("lease-compiling"), released.leaseIds());
    drained.expectNoMessage(Duration.ofMillis(300));

    rig.timedOut("lease-eval");
    DispatcherProtocol.ReportVerdict report = rig.reported();
    drained.expectNoMessage(Duration.ofMillis(300)); // not before the verdict is acked
    report.replyTo().tell(new DispatcherProtocol.VerdictAck(report.leaseId()));
    drained.expectMessage(Done.getInstance());
    TestProbe<Object> watcher = kit.createTestProbe();
    watcher.expectTerminated(rig.worker);
  }

  @Test
  void reportsWhatTheDeviceDoesWhenItChanges() {
    Rig rig = new Rig();
    assertEquals(new DispatcherProtocol.DeviceReport("node/device-0", Device.cpu().deviceType(), DeviceState.idle,
        true, 0, 0, settings.compileSlots()), rig.reports.receiveMessage(), "as it starts");
    rig.compiled(rig.offer("lease-1"));
    assertEquals(DeviceState.compiling, rig.reports.receiveMessage().state());
    assertEquals(DeviceState.evaluating, rig.reports.receiveMessage().state(), "as it starts evaluating");
    rig.timedOut("lease-1");
    assertEquals(DeviceState.idle, rig.reports.receiveMessage().state());
    rig.reports.expectNoMessage(Duration.ofMillis(300)); // nothing changed, and the tick is minutes away
  }

  @Test
  void anUnhealthyDeviceReportsItUntilAHealthCheckPasses() {
    Rig rig = new Rig();
    rig.compiled(rig.offer("lease-eval"));
    rig.outcomes.get().tell(new Evaluator.Unhealthy("processes keep failing to start"));
    assertEquals(DeviceState.evaluating, rig.reportWhere(r -> !r.healthy()).state(),
        "the evaluation in progress finishes on an unhealthy device");
    rig.timedOut("lease-eval");
    assertEquals(false, rig.reportWhere(r -> r.state() == DeviceState.unhealthy).healthy());
    rig.outcomes.get().tell(new Evaluator.Healthy());
    assertEquals(DeviceState.idle, rig.reportWhere(DispatcherProtocol.DeviceReport::healthy).state());
  }

  @Test
  void aDrainingDeviceReportsDrainingOnceItsLastEvaluationEnds() {
    Rig rig = new Rig();
    rig.compiled(rig.offer("lease-eval"));
    rig.reportWhere(r -> r.state() == DeviceState.evaluating);
    rig.worker.tell(new GpuWorker.Drain(kit.<Done>createTestProbe().getRef()));
    rig.reports.expectNoMessage(Duration.ofMillis(300)); // still evaluating: the GPU is busy until that one ends
    rig.timedOut("lease-eval");
    assertEquals(DeviceState.draining, rig.reports.receiveMessage().state());
  }

  @Test
  void aDeviceWithNothingToDoStillReportsOnEveryRenewalTick() {
    WorkerSettings shortLease = TestWorkers.settings(
        ConfigFactory.parseString("kernelfarm.worker.lease = 900ms").withFallback(config));
    Rig rig = new Rig(shortLease);
    DispatcherProtocol.DeviceReport first = rig.reports.receiveMessage();
    // A tick every 300 ms: the same report again, though nothing changed.
    assertEquals(first, rig.reports.receiveMessage(Duration.ofSeconds(2)));
    assertEquals(first, rig.reports.receiveMessage(Duration.ofSeconds(2)));
  }
}
