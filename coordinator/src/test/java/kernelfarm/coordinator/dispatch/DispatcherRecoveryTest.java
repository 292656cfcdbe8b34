package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import kernelfarm.coordinator.store.JournalSchema;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Dispatcher on the node's real journal (an H2 file): stopped and started again, as when the singleton moves,
 * it rebuilds its queue, its submitters and its recent verdicts from what it persisted, and a worker still holding
 * a lease of the previous incarnation keeps it and has its verdict counted once. Snapshots every two events, so
 * recovery goes through a snapshot and the events after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatcherRecoveryTest {
  private static final Duration LEASE = Duration.ofSeconds(60);
  private static final DeviceCapabilities H100 =
      new DeviceCapabilities("NVIDIA H100 80GB HBM3", EnumSet.of(Backend.CUDA), 80L << 30, "9.0");

  private final ActorTestKit kit;
  private final Dispatcher.Settings configured;

  DispatcherRecoveryTest() throws Exception {
    Path store = Files.createTempDirectory("kfarm-dispatcher-recovery");
    String url = "jdbc:h2:file:" + store.resolve("kfarm").toAbsolutePath();
    Config config = Node.config(TestNodes.overrides(Map.of("kernelfarm.store.url", url,
        "kernelfarm.coordinator.dispatch.snapshot-every", 2), 1));
    JournalSchema.createIfMissing(url, config.getString("kernelfarm.store.user"),
        config.getString("kernelfarm.store.password"));
    kit = ActorTestKit.create("KernelFarm", config);
    configured = Dispatcher.Settings.from(config);
  }

  /** The node's journal settings under a persistence id of the test's own: tests never share a queue. */
  private Dispatcher.Settings settings(String test) {
    return new Dispatcher.Settings(configured.persistenceId() + "-" + test, configured.journalPluginId(),
        configured.snapshotPluginId(), configured.snapshotEvery(), configured.verdictCache());
  }

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  private Submitted submit(ActorRef<DispatcherProtocol.Command> dispatcher, String source) {
    return Submitted.submit(kit, dispatcher, source);
  }

  private static Verdict verdict(Candidate c) {
    return new Verdict(c.id(), c.problemId(), Status.CORRECT, "timing", Map.of(), null, null, List.of(), null, null,
        new DeviceRef("node", 0, H100.deviceType()), "ok", List.of());
  }

  private DispatcherProtocol.WorkOffer ask(ActorRef<DispatcherProtocol.Command> dispatcher, String workerId,
      TestProbe<DispatcherProtocol.WorkOffer> worker) {
    dispatcher.tell(new DispatcherProtocol.RequestWork(workerId, H100, worker.getRef()));
    return worker.receiveMessage();
  }

  /** Stops the Dispatcher as a dying node would take it, and starts the next incarnation on the same journal. */
  private ActorRef<DispatcherProtocol.Command> restart(ActorRef<DispatcherProtocol.Command> dispatcher,
      ManualClock clock, Dispatcher.Settings settings, String name) {
    kit.stop(dispatcher);
    return kit.spawn(Dispatcher.create(clock, LEASE, settings), name);
  }

  @Test
  void aRestartedDispatcherRebuildsItsQueueAndCountsAVerdictUnderAnEarlierLeaseOnce() {
    ManualClock clock = new ManualClock();
    Dispatcher.Settings settings = settings("rebuild");
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE, settings), "d1");
    Submitted leased = submit(dispatcher, "source-leased");
    Submitted judged = submit(dispatcher, "source-judged");
    Submitted withdrawn = submit(dispatcher, "source-withdrawn");
    Submitted queued = submit(dispatcher, "source-queued");
    TestProbe<DispatcherProtocol.WorkOffer> a = kit.createTestProbe();
    DispatcherProtocol.WorkOffer held = ask(dispatcher, "a", a);
    assertEquals(leased.candidate().id(), held.candidate().id());
    DispatcherProtocol.WorkOffer done = ask(dispatcher, "a", a);
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(done.leaseId(), verdict(judged.candidate()), acks.getRef()));
    acks.receiveMessage();
    judged.branch().receiveMessage();
    dispatcher.tell(new DispatcherProtocol.Withdraw(withdrawn.candidate().id(), VerifySettings.defaults(),
        withdrawn.branch().getRef()));
    // Withdraw has no reply; a status asked after it is answered after it, and only then may the actor stop (a stop
    // overtakes the mailbox).
    TestProbe<DispatcherProtocol.FarmStatus> status = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    assertEquals(1, status.receiveMessage().queued(), "the withdrawn candidate left; one queued, one leased");

    dispatcher = restart(dispatcher, clock, settings, "d2");

    // The holder of the leased candidate renews under the lease the previous incarnation gave it, and keeps it.
    TestProbe<DispatcherProtocol.RenewalRefused> refusals = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("a", List.of(held.leaseId()), refusals.getRef()));
    refusals.expectNoMessage(Duration.ofMillis(300));
    // What nobody held is offered again; the withdrawn and the judged candidates are not.
    TestProbe<DispatcherProtocol.WorkOffer> b = kit.createTestProbe();
    assertEquals(queued.candidate().id(), ask(dispatcher, "b", b).candidate().id());
    dispatcher.tell(new DispatcherProtocol.RequestWork("b", H100, b.getRef()));
    b.expectNoMessage(Duration.ofMillis(300));

    Verdict late = verdict(leased.candidate());
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(held.leaseId(), late, acks.getRef()));
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(held.leaseId(), late, acks.getRef()));
    assertEquals(held.leaseId(), acks.receiveMessage().leaseId());
    assertEquals(held.leaseId(), acks.receiveMessage().leaseId());
    assertEquals(late, leased.branch().receiveMessage().verdict(), "the submitter of before the restart is told");
    leased.branch().expectNoMessage(Duration.ofMillis(300));

    // The verdict judged before the restart still answers a repeated submission without a worker.
    TestProbe<DispatcherProtocol.VerdictReady> again = kit.createTestProbe();
    TestProbe<DispatcherProtocol.Queued> answer = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.SubmitCandidate(judged.candidate(),
        new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem"), VerifySettings.defaults(), again.getRef(),
        answer.getRef()));
    assertTrue(answer.receiveMessage().cached());
    assertEquals(judged.candidate().id(), again.receiveMessage().verdict().candidateId());

    dispatcher = restart(dispatcher, clock, settings, "d3");
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    assertEquals(1, status.receiveMessage().queued(), "only the candidate b holds is left after a second restart");
    kit.stop(dispatcher);
  }

  @Test
  void ofTwoEarlierLeasesOfOneCandidateTheFirstRenewalAdoptsItAndTheOtherIsRefused() {
    ManualClock clock = new ManualClock();
    Dispatcher.Settings settings = settings("adopt");
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE, settings), "e1");
    submit(dispatcher, "source-twice-leased");
    TestProbe<DispatcherProtocol.WorkOffer> a = kit.createTestProbe();
    DispatcherProtocol.WorkOffer first = ask(dispatcher, "a", a);
    clock.advance(LEASE.plusSeconds(1));
    TestProbe<DispatcherProtocol.WorkOffer> b = kit.createTestProbe();
    DispatcherProtocol.WorkOffer second = ask(dispatcher, "b", b);
    assertNotEquals(first.leaseId(), second.leaseId());

    dispatcher = restart(dispatcher, clock, settings, "e2");
    TestProbe<DispatcherProtocol.RenewalRefused> toB = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("b", List.of(second.leaseId()), toB.getRef()));
    toB.expectNoMessage(Duration.ofMillis(300));
    TestProbe<DispatcherProtocol.RenewalRefused> toA = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("a", List.of(first.leaseId()), toA.getRef()));
    assertEquals(List.of(first.leaseId()), toA.receiveMessage().leaseIds());
    TestProbe<DispatcherProtocol.WorkOffer> c = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("c", H100, c.getRef()));
    c.expectNoMessage(Duration.ofMillis(300));
    kit.stop(dispatcher);
  }
}
