package kernelfarm.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The benchmarks' fake worker alone, a probe standing in for the Dispatcher. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BenchWorkerTest {
  // Every message checked by serializing it, as in the coordinator's tests: the slots' children talk to their parent.
  private final ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString("pekko.actor.serialize-messages = on")
      .withFallback(ConfigFactory.load()));
  private final Problem problem = new Problem("bench/p0", 1, "p0", "# problem");

  @AfterAll
  void stop() {
    kit.shutdownTestKit();
  }

  private DispatcherProtocol.WorkOffer offer(String leaseId) {
    return new DispatcherProtocol.WorkOffer(leaseId, Candidate.of(problem.id(), Backend.CPU, "# " + leaseId),
        problem, VerifySettings.defaults(), Duration.ofMinutes(1));
  }

  /** Answers the worker's status ask, as a Dispatcher the proxy has found does. */
  private static void answerStatus(TestProbe<DispatcherProtocol.Command> dispatcher) {
    dispatcher.expectMessageClass(DispatcherProtocol.GetStatus.class).replyTo()
        .tell(new DispatcherProtocol.FarmStatus(0, 0, 0, 0, List.of()));
  }

  @Test
  void slotsAskForWorkOnlyOnceTheDispatcherHasAnswered() {
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    kit.spawn(BenchWorker.create(dispatcher.getRef(), Duration.ofMillis(10), 2, "finding", () -> { }));
    // The first ask is lost, as when the singleton proxy pushed it out of its buffer: asked again, and until then
    // no slot asks for work, since each asks only once.
    dispatcher.expectMessageClass(DispatcherProtocol.GetStatus.class);
    answerStatus(dispatcher);
    assertEquals("finding-0", dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class).workerId());
    assertEquals("finding-1", dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class).workerId());
  }

  @Test
  void anOfferIsReportedAfterTheLatencyAndTheSlotAsksAgain() {
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    kit.spawn(BenchWorker.create(dispatcher.getRef(), Duration.ofMillis(50), 1, "busy", () -> { }));
    answerStatus(dispatcher);
    var request = dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class);
    request.replyTo().tell(offer("lease-1"));
    var report = dispatcher.expectMessageClass(DispatcherProtocol.ReportVerdict.class);
    assertEquals("lease-1", report.leaseId());
    assertEquals(Status.CORRECT, report.verdict().status());
    assertEquals("busy-0", dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class).workerId());
  }

  @Test
  void eachSlotAsksAgainUnderItsOwnNameAfterItsOwnOffer() {
    TestProbe<DispatcherProtocol.Command> dispatcher = kit.createTestProbe();
    kit.spawn(BenchWorker.create(dispatcher.getRef(), Duration.ofMillis(10), 3, "many", () -> { }));
    answerStatus(dispatcher);
    List<DispatcherProtocol.RequestWork> requests = List.of(
        dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class),
        dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class),
        dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class));
    // An offer on slot 0's request must come back as slot 0's: the Dispatcher parks one request per worker id,
    // so answering every offer as the last slot left one request standing for all of them.
    requests.get(0).replyTo().tell(offer("lease-a"));
    assertEquals("lease-a", dispatcher.expectMessageClass(DispatcherProtocol.ReportVerdict.class).leaseId());
    assertEquals("many-0", dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class).workerId());
    requests.get(1).replyTo().tell(offer("lease-b"));
    assertEquals("lease-b", dispatcher.expectMessageClass(DispatcherProtocol.ReportVerdict.class).leaseId());
    assertEquals("many-1", dispatcher.expectMessageClass(DispatcherProtocol.RequestWork.class).workerId());
  }
}
