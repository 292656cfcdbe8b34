package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DeviceCapabilities;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A journal write that fails (the database went away) restarts the Dispatcher, which recovers from the journal;
 * what it knew of leases stays true meanwhile, so a candidate a worker still holds is not offered to another, and
 * the verdict whose write failed is taken when the worker repeats it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatcherJournalFailureTest {
  private static final DeviceCapabilities H100 =
      new DeviceCapabilities("NVIDIA H100 80GB HBM3", EnumSet.of(Backend.CUDA), 80L << 30, "9.0");

  private final ActorTestKit kit = ActorTestKit.create(
      PersistenceTestKitPlugin.getInstance().config().withFallback(ConfigFactory.load("cluster-test")));
  private final PersistenceTestKit journal = PersistenceTestKit.create(kit.system());

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  private Submitted submit(ActorRef<DispatcherProtocol.Command> dispatcher, String source) {
    return Submitted.submit(kit, dispatcher, source);
  }

  @Test
  void afterAFailedWriteALeasedCandidateStaysWithItsWorkerAndItsRepeatedVerdictCountsOnce() {
    Dispatcher.Settings settings = new Dispatcher.Settings("dispatcher-journal-failure",
        PersistenceTestKitPlugin.PluginId(), "pekko.persistence.no-snapshot-store", 0, 100);
    ActorRef<DispatcherProtocol.Command> dispatcher =
        kit.spawn(Dispatcher.create(new ManualClock(), Duration.ofSeconds(60), settings));
    Submitted leased = submit(dispatcher, "source-leased-through-failure");
    Submitted queued = submit(dispatcher, "source-queued-through-failure");
    TestProbe<DispatcherProtocol.WorkOffer> a = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("a", H100, a.getRef()));
    DispatcherProtocol.WorkOffer held = a.receiveMessage();
    assertEquals(leased.candidate().id(), held.candidate().id());

    journal.failNextPersisted();
    Verdict verdict = new Verdict(leased.candidate().id(), leased.candidate().problemId(), Status.CORRECT, "timing",
        Map.of(), null, null, List.of(), null, null, new DeviceRef("node", 0, H100.deviceType()), "ok", List.of());
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(held.leaseId(), verdict, acks.getRef()));
    acks.expectNoMessage(Duration.ofMillis(300)); // not persisted, so not acked

    TestProbe<DispatcherProtocol.WorkOffer> b = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("b", H100, b.getRef()));
    assertEquals(queued.candidate().id(), b.receiveMessage(Duration.ofSeconds(10)).candidate().id());
    TestProbe<DispatcherProtocol.WorkOffer> c = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("c", H100, c.getRef()));
    c.expectNoMessage(Duration.ofMillis(500));

    dispatcher.tell(new DispatcherProtocol.ReportVerdict(held.leaseId(), verdict, acks.getRef()));
    assertEquals(held.leaseId(), acks.receiveMessage().leaseId());
    assertEquals(verdict, leased.branch().receiveMessage().verdict());
    leased.branch().expectNoMessage(Duration.ofMillis(300));
  }
}
