package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DeviceCapabilities;
import kernelfarm.protocol.DeviceRef;
import kernelfarm.protocol.DeviceState;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Work pulling with leases: the Dispatcher with test probes for workers and branches, and a clock we move. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DispatcherTest {
  private static final Duration LEASE = Duration.ofSeconds(60);
  private static final DeviceCapabilities H100 =
      new DeviceCapabilities("NVIDIA H100 80GB HBM3", EnumSet.of(Backend.CUDA, Backend.TRITON), 80L << 30, "9.0");
  private static final DeviceCapabilities CPU = new DeviceCapabilities("cpu", EnumSet.of(Backend.CPU), 1L << 30, null);

  private final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load("cluster-test"));

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  private record Submitted(Candidate candidate, TestProbe<DispatcherProtocol.VerdictReady> branch) {}

  private Submitted submit(ActorRef<DispatcherProtocol.Command> dispatcher, String problemId, Backend backend,
      String source) {
    Problem problem = new Problem(problemId, 1, problemId.substring(problemId.indexOf('/') + 1), "# problem");
    Candidate candidate = Candidate.of(problemId, backend, source);
    TestProbe<DispatcherProtocol.VerdictReady> branch = kit.createTestProbe();
    TestProbe<DispatcherProtocol.Queued> queued = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.SubmitCandidate(candidate, problem, VerifySettings.defaults(),
        branch.getRef(), queued.getRef()));
    assertEquals(candidate.id(), queued.receiveMessage().candidateId());
    return new Submitted(candidate, branch);
  }

  private static Verdict verdict(Candidate c, String device) {
    return new Verdict(c.id(), c.problemId(), Status.CORRECT, "timing", Map.of(), null, null, List.of(), null, null,
        new DeviceRef("node", 0, device), "ok", List.of());
  }

  @Test
  void lapsedLeaseRequeuesCandidateOnAnotherWorkerAndIsCounted() {
    ManualClock clock = new ManualClock();
    Counter expiries = Dispatcher.leaseExpiries(new PrometheusRegistry());
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE,
        Dispatcher.Settings.inMemory(), expiries));
    Submitted s = submit(dispatcher, "level1/19_ReLU", Backend.CUDA, "source-lapse");
    TestProbe<DispatcherProtocol.WorkOffer> first = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, first.getRef()));
    DispatcherProtocol.WorkOffer offer = first.receiveMessage();
    assertEquals(s.candidate().id(), offer.candidate().id());

    TestProbe<DispatcherProtocol.WorkOffer> second = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-b/device-0", H100, second.getRef()));
    second.expectNoMessage(Duration.ofMillis(200));
    assertEquals(0.0, expiries.get(), "the lease has not lapsed yet");
    clock.advance(LEASE.plusSeconds(1));
    // The first worker went silent; the next message the Dispatcher sees finds the lapsed lease.
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-b/device-0", H100, second.getRef()));
    DispatcherProtocol.WorkOffer again = second.receiveMessage();
    assertEquals(s.candidate().id(), again.candidate().id());
    assertNotEquals(offer.leaseId(), again.leaseId());
    assertEquals(1.0, expiries.get(), "kfarm_lease_expiries_total counts the lapse");
  }

  /** Worker a's lease lapses and the candidate goes to worker b; returns both offers. */
  private DispatcherProtocol.WorkOffer[] lapseAndReLease(ManualClock clock, ActorRef<DispatcherProtocol.Command>
      dispatcher, TestProbe<DispatcherProtocol.WorkOffer> a, TestProbe<DispatcherProtocol.WorkOffer> b) {
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, a.getRef()));
    DispatcherProtocol.WorkOffer first = a.receiveMessage();
    clock.advance(LEASE.plusSeconds(1));
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-b/device-0", H100, b.getRef()));
    DispatcherProtocol.WorkOffer second = b.receiveMessage();
    assertEquals(first.candidate().id(), second.candidate().id());
    return new DispatcherProtocol.WorkOffer[] {first, second};
  }

  @Test
  void aVerdictUnderALapsedLeaseIsAcceptedOnceAndTheNewHoldersRenewalIsRefused() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    Submitted s = submit(dispatcher, "level1/26_GELU", Backend.CUDA, "source-late-verdict");
    DispatcherProtocol.WorkOffer[] offers = lapseAndReLease(clock, dispatcher, kit.createTestProbe(),
        kit.createTestProbe());

    // Worker a was only slow: its verdict arrives under the lapsed lease, and counts.
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    Verdict late = verdict(s.candidate(), "late-a");
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offers[0].leaseId(), late, acks.getRef()));
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offers[0].leaseId(), late, acks.getRef()));
    assertEquals(offers[0].leaseId(), acks.receiveMessage().leaseId());
    assertEquals(offers[0].leaseId(), acks.receiveMessage().leaseId());
    assertEquals(late, s.branch().receiveMessage().verdict(), "accepted");

    // Worker b is told to stop, and its verdict, should it come, is acked and dropped.
    TestProbe<DispatcherProtocol.RenewalRefused> refusals = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("node-b/device-0", List.of(offers[1].leaseId()),
        refusals.getRef()));
    assertEquals(List.of(offers[1].leaseId()), refusals.receiveMessage().leaseIds());
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offers[1].leaseId(), verdict(s.candidate(), "b"),
        acks.getRef()));
    assertEquals(offers[1].leaseId(), acks.receiveMessage().leaseId());
    s.branch().expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void aRenewalFromAStaleHolderIsRefusedAndTheNewHoldersIsNot() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    submit(dispatcher, "level1/27_SELU", Backend.CUDA, "source-stale-renewal");
    DispatcherProtocol.WorkOffer[] offers = lapseAndReLease(clock, dispatcher, kit.createTestProbe(),
        kit.createTestProbe());
    TestProbe<DispatcherProtocol.RenewalRefused> stale = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("node-a/device-0", List.of(offers[0].leaseId()),
        stale.getRef()));
    assertEquals(List.of(offers[0].leaseId()), stale.receiveMessage().leaseIds());
    // Someone else naming b's lease is refused too, and does not take it over.
    dispatcher.tell(new DispatcherProtocol.RenewLease("node-a/device-0", List.of(offers[1].leaseId()),
        stale.getRef()));
    assertEquals(List.of(offers[1].leaseId()), stale.receiveMessage().leaseIds());
    TestProbe<DispatcherProtocol.RenewalRefused> holder = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("node-b/device-0", List.of(offers[1].leaseId()),
        holder.getRef()));
    holder.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void aLateRenewalBeforeTheCandidateIsLeasedAgainKeepsTheLease() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    submit(dispatcher, "level1/28_HardSigmoid", Backend.CUDA, "source-late-renewal");
    TestProbe<DispatcherProtocol.WorkOffer> a = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, a.getRef()));
    DispatcherProtocol.WorkOffer offer = a.receiveMessage();
    clock.advance(LEASE.plusSeconds(1));
    TestProbe<DispatcherProtocol.RenewalRefused> refusals = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RenewLease("node-a/device-0", List.of(offer.leaseId()),
        refusals.getRef()));
    refusals.expectNoMessage(Duration.ofMillis(300));
    TestProbe<DispatcherProtocol.WorkOffer> b = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-b/device-0", H100, b.getRef()));
    b.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void aReleasedLeaseGoesToTheNextWorkerAtOnceAndTheReleaserGetsNoMore() {
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(new ManualClock(), LEASE));
    Submitted first = submit(dispatcher, "level1/24_LogSoftmax", Backend.CUDA, "source-released");
    TestProbe<DispatcherProtocol.WorkOffer> sick = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("sick/device-0", H100, sick.getRef()));
    DispatcherProtocol.WorkOffer offer = sick.receiveMessage();
    // It asks for more, then turns unhealthy: its lease and its pending request both go.
    dispatcher.tell(new DispatcherProtocol.RequestWork("sick/device-0", H100, sick.getRef()));
    dispatcher.tell(new DispatcherProtocol.ReleaseLease("sick/device-0", List.of(offer.leaseId())));
    submit(dispatcher, "level1/24_LogSoftmax", Backend.CUDA, "source-after-release");
    sick.expectNoMessage(Duration.ofMillis(300));

    TestProbe<DispatcherProtocol.WorkOffer> healthy = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("healthy/device-0", H100, healthy.getRef()));
    DispatcherProtocol.WorkOffer again = healthy.receiveMessage();
    assertEquals(first.candidate().id(), again.candidate().id(), "the released candidate first, with no lapse");
    assertNotEquals(offer.leaseId(), again.leaseId());
  }

  @Test
  void aReleaseFromAWorkerThatDoesNotHoldTheLeaseChangesNothing() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    submit(dispatcher, "level1/25_Swish", Backend.CUDA, "source-not-yours");
    TestProbe<DispatcherProtocol.WorkOffer> holder = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("holder", H100, holder.getRef()));
    DispatcherProtocol.WorkOffer offer = holder.receiveMessage();
    dispatcher.tell(new DispatcherProtocol.ReleaseLease("someone-else", List.of(offer.leaseId())));
    TestProbe<DispatcherProtocol.WorkOffer> other = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("other", H100, other.getRef()));
    other.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void statusCountsQueueLeasesVerdictsAndEachWorkersLeasedTime() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    submit(dispatcher, "level1/24_LogSoftmax", Backend.CUDA, "source-status-1");
    submit(dispatcher, "level1/24_LogSoftmax", Backend.CUDA, "source-status-2");
    TestProbe<DispatcherProtocol.WorkOffer> busy = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, busy.getRef()));
    DispatcherProtocol.WorkOffer offer = busy.receiveMessage();
    TestProbe<DispatcherProtocol.WorkOffer> idle = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-1", CPU, idle.getRef()));
    TestProbe<DispatcherProtocol.FarmStatus> status = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    DispatcherProtocol.FarmStatus before = status.receiveMessage();
    assertEquals(1, before.queued());
    assertEquals(1, before.leased());
    assertEquals(List.of("node-a/device-0", "node-a/device-1"),
        before.workers().stream().map(DispatcherProtocol.WorkerStatus::workerId).toList());
    assertEquals(1, before.workers().get(0).leases());
    assertTrue(before.workers().get(1).waiting(), "the cpu worker asked and nothing fits it");

    clock.advance(Duration.ofSeconds(30));
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), verdict(offer.candidate(), "H100"),
        acks.getRef()));
    acks.receiveMessage();
    clock.advance(Duration.ofSeconds(10));
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    DispatcherProtocol.FarmStatus after = status.receiveMessage();
    assertEquals(0, after.leased());
    assertEquals(1, after.verdictsLastMinute());
    assertEquals(1L, after.verdicts());
    DispatcherProtocol.WorkerStatus gpu = after.workers().get(0);
    assertEquals(1L, gpu.verdicts());
    assertEquals(30.0, gpu.leasedSeconds(), 1e-6, "leased from the offer to the verdict");
    assertEquals(40.0, gpu.seenSeconds(), 1e-6);

    clock.advance(Duration.ofMinutes(1));
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    assertEquals(0, status.receiveMessage().verdictsLastMinute(), "the rate forgets verdicts older than a minute");
  }

  @Test
  void aDevicesLatestReportReachesTheStatusAndGoesWhenTheWorkerIsForgotten() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    TestProbe<DispatcherProtocol.WorkOffer> offers = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, offers.getRef()));
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-1", H100, offers.getRef()));
    assertNull(workers(dispatcher).get("node-a/device-0").device(), "no report yet");

    dispatcher.tell(new DispatcherProtocol.DeviceReport("node-a/device-0", H100.deviceType(),
        DeviceState.evaluating, true, 2, 1, 4));
    var idle = new DispatcherProtocol.DeviceReport("node-a/device-0", H100.deviceType(), DeviceState.idle, true, 3,
        0, 4);
    dispatcher.tell(idle);
    Map<String, DispatcherProtocol.WorkerStatus> reported = workers(dispatcher);
    assertEquals(idle, reported.get("node-a/device-0").device(), "the latest report replaces the one before");
    assertNull(reported.get("node-a/device-1").device());

    // Both stop asking; device-0 is unhealthy and only reports, which keeps it listed.
    dispatcher.tell(new DispatcherProtocol.ReleaseLease("node-a/device-0", List.of()));
    dispatcher.tell(new DispatcherProtocol.ReleaseLease("node-a/device-1", List.of()));
    clock.advance(LEASE.multipliedBy(2));
    var unhealthy = new DispatcherProtocol.DeviceReport("node-a/device-0", H100.deviceType(),
        DeviceState.unhealthy, false, 0, 0, 4);
    dispatcher.tell(unhealthy);
    assertEquals(unhealthy, workers(dispatcher).get("node-a/device-0").device()); // handled before the clock moves
    clock.advance(LEASE.multipliedBy(2));
    Map<String, DispatcherProtocol.WorkerStatus> later = workers(dispatcher);
    assertEquals(List.of("node-a/device-0"), List.copyOf(later.keySet()), "device-1 silent for four leases");
    assertEquals(unhealthy, later.get("node-a/device-0").device());
    assertEquals(2 * LEASE.toSeconds(), later.get("node-a/device-0").silentSeconds(), 1e-6, "heard at its report");

    clock.advance(LEASE.multipliedBy(2));
    assertEquals(Map.of(), workers(dispatcher), "device-0 silent for four leases too");
    // Back after it was forgotten: what it reported before is gone with it.
    dispatcher.tell(new DispatcherProtocol.RequestWork("node-a/device-0", H100, offers.getRef()));
    assertNull(workers(dispatcher).get("node-a/device-0").device());
  }

  @Test
  void aReportFromAWorkerThatAsksForNothingListsIt() {
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(new ManualClock(), LEASE));
    var draining = new DispatcherProtocol.DeviceReport("node-b/device-0", CPU.deviceType(), DeviceState.draining,
        true, 1, 0, 2);
    dispatcher.tell(draining);
    DispatcherProtocol.WorkerStatus worker = workers(dispatcher).get("node-b/device-0");
    assertEquals("cpu", worker.deviceType());
    assertEquals(draining, worker.device());
  }

  private Map<String, DispatcherProtocol.WorkerStatus> workers(ActorRef<DispatcherProtocol.Command> dispatcher) {
    TestProbe<DispatcherProtocol.FarmStatus> status = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.GetStatus(status.getRef()));
    Map<String, DispatcherProtocol.WorkerStatus> byId = new LinkedHashMap<>();
    status.receiveMessage().workers().forEach(w -> byId.put(w.workerId(), w));
    return byId;
  }

  @Test
  void aWithdrawnCandidateLeavesTheQueueUnlessSomeoneElseWaitsForIt() {
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(new ManualClock(), LEASE));
    Submitted alone = submit(dispatcher, "level1/21_Sigmoid", Backend.CUDA, "source-withdrawn");
    Submitted shared = submit(dispatcher, "level1/21_Sigmoid", Backend.CUDA, "source-shared");
    Submitted sharedToo = submit(dispatcher, "level1/21_Sigmoid", Backend.CUDA, "source-shared");
    dispatcher.tell(new DispatcherProtocol.Withdraw(alone.candidate().id(), VerifySettings.defaults(),
        alone.branch().getRef()));
    dispatcher.tell(new DispatcherProtocol.Withdraw(shared.candidate().id(), VerifySettings.defaults(),
        shared.branch().getRef()));
    TestProbe<DispatcherProtocol.WorkOffer> worker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("w", H100, worker.getRef()));
    DispatcherProtocol.WorkOffer offer = worker.receiveMessage();
    assertEquals(shared.candidate().id(), offer.candidate().id(), "the withdrawn candidate is skipped");
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), verdict(offer.candidate(), "H100"),
        acks.getRef()));
    acks.receiveMessage();
    sharedToo.branch().receiveMessage();
    shared.branch().expectNoMessage(Duration.ofMillis(200));
    dispatcher.tell(new DispatcherProtocol.RequestWork("w", H100, worker.getRef()));
    worker.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void renewedLeaseDoesNotLapse() {
    ManualClock clock = new ManualClock();
    Counter expiries = Dispatcher.leaseExpiries(new PrometheusRegistry());
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE,
        Dispatcher.Settings.inMemory(), expiries));
    submit(dispatcher, "level1/20_LeakyReLU", Backend.CUDA, "source-renew");
    TestProbe<DispatcherProtocol.WorkOffer> worker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("a", H100, worker.getRef()));
    DispatcherProtocol.WorkOffer offer = worker.receiveMessage();
    clock.advance(LEASE.dividedBy(2));
    dispatcher.tell(new DispatcherProtocol.RenewLease("a", List.of(offer.leaseId()),
        kit.<DispatcherProtocol.RenewalRefused>createTestProbe().getRef()));
    // RenewLease has no reply: a submission's Queued (same sender, so processed after it) says it was handled
    // before the clock moves on. A cpu candidate, so the GPU worker below is not offered it.
    submit(dispatcher, "level1/20_LeakyReLU", Backend.CPU, "source-renew-sync");
    clock.advance(LEASE.dividedBy(2).plusSeconds(1));
    TestProbe<DispatcherProtocol.WorkOffer> other = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("b", H100, other.getRef()));
    other.expectNoMessage(Duration.ofMillis(300));
    assertEquals(0.0, expiries.get(), "a renewed lease is no expiry");
  }

  @Test
  void verdictsAreIdempotentByCandidateAndRepeatsAreAcked() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    Submitted s = submit(dispatcher, "level1/21_Sigmoid", Backend.CUDA, "source-idempotent");
    TestProbe<DispatcherProtocol.WorkOffer> worker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("a", H100, worker.getRef()));
    DispatcherProtocol.WorkOffer offer = worker.receiveMessage();
    TestProbe<DispatcherProtocol.VerdictAck> acks = kit.createTestProbe();
    Verdict v = verdict(s.candidate(), H100.deviceType());
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), v, acks.getRef()));
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), v, acks.getRef()));
    assertEquals(offer.leaseId(), acks.receiveMessage().leaseId());
    assertEquals(offer.leaseId(), acks.receiveMessage().leaseId());
    assertEquals(v, s.branch().receiveMessage().verdict());
    s.branch().expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void sameCandidateOnSameDeviceTypeComesFromTheCache() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    Submitted s = submit(dispatcher, "level1/22_Tanh", Backend.CUDA, "source-cache");
    TestProbe<DispatcherProtocol.WorkOffer> worker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("a", H100, worker.getRef()));
    DispatcherProtocol.WorkOffer offer = worker.receiveMessage();
    Verdict v = verdict(s.candidate(), H100.deviceType());
    dispatcher.tell(new DispatcherProtocol.ReportVerdict(offer.leaseId(), v, kit.<DispatcherProtocol.VerdictAck>createTestProbe().getRef()));
    s.branch().receiveMessage();

    TestProbe<DispatcherProtocol.VerdictReady> branch = kit.createTestProbe();
    TestProbe<DispatcherProtocol.Queued> queued = kit.createTestProbe();
    Problem problem = new Problem("level1/22_Tanh", 1, "22_Tanh", "# problem");
    dispatcher.tell(new DispatcherProtocol.SubmitCandidate(s.candidate(), problem, VerifySettings.defaults(),
        branch.getRef(), queued.getRef()));
    assertTrue(queued.receiveMessage().cached());
    assertEquals(v, branch.receiveMessage().verdict());
    dispatcher.tell(new DispatcherProtocol.RequestWork("a", H100, worker.getRef()));
    worker.expectNoMessage(Duration.ofMillis(200));
  }

  @Test
  void workGoesOnlyToDevicesThatCanRunItsBackend() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    Submitted cuda = submit(dispatcher, "level1/23_Softmax", Backend.CUDA, "source-cuda");
    Submitted cpu = submit(dispatcher, "level1/23_Softmax", Backend.CPU, "source-cpu");
    TestProbe<DispatcherProtocol.WorkOffer> cpuWorker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("cpu-node/device-0", CPU, cpuWorker.getRef()));
    assertEquals(cpu.candidate().id(), cpuWorker.receiveMessage().candidate().id());
    TestProbe<DispatcherProtocol.WorkOffer> gpuWorker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("gpu-node/device-0", H100, gpuWorker.getRef()));
    assertEquals(cuda.candidate().id(), gpuWorker.receiveMessage().candidate().id());
  }

  @Test
  void workNoWorkerCanRunIsWarnedOfOnceWithWhatTheWorkersServe() {
    ManualClock clock = new ManualClock();
    ActorRef<DispatcherProtocol.Command> dispatcher = kit.spawn(Dispatcher.create(clock, LEASE));
    Submitted cuda = submit(dispatcher, "level1/23_Softmax", Backend.CUDA, "source-cuda");
    TestProbe<DispatcherProtocol.WorkOffer> cpuWorker = kit.createTestProbe();
    LoggingTestKit.warn("no worker serves").withOccurrences(0).expect(kit.system(), () -> {
      // The first look only suspects: a GPU worker may be about to ask.
      dispatcher.tell(new DispatcherProtocol.RequestWork("cpu-node/device-0", CPU, cpuWorker.getRef()));
      cpuWorker.expectNoMessage(Duration.ofMillis(200));
      return null;
    });
    clock.advance(Duration.ofSeconds(11));
    LoggingTestKit.warn("no worker serves").withMessageContains("run the campaign with --backend").expect(kit.system(), () -> {
          dispatcher.tell(new DispatcherProtocol.RequestWork("cpu-node/device-0", CPU, cpuWorker.getRef()));
          return null;
        });
    clock.advance(Duration.ofSeconds(11));
    LoggingTestKit.warn("no worker serves").withOccurrences(0).expect(kit.system(), () -> {
      dispatcher.tell(new DispatcherProtocol.RequestWork("cpu-node/device-0", CPU, cpuWorker.getRef()));
      cpuWorker.expectNoMessage(Duration.ofMillis(200));
      return null;
    });
    TestProbe<DispatcherProtocol.WorkOffer> gpuWorker = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.RequestWork("gpu-node/device-0", H100, gpuWorker.getRef()));
    assertEquals(cuda.candidate().id(), gpuWorker.receiveMessage().candidate().id());
  }
}
