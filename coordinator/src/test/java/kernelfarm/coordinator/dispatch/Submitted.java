package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;

/** A Branch's side of a submission in the Dispatcher's persistence tests: the candidate and where its verdict goes. */
record Submitted(Candidate candidate, TestProbe<DispatcherProtocol.VerdictReady> branch) {
  /** Submits a CUDA candidate with this source for a fixed problem and waits until it is queued. */
  static Submitted submit(ActorTestKit kit, ActorRef<DispatcherProtocol.Command> dispatcher, String source) {
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "# problem");
    Candidate candidate = Candidate.of(problem.id(), Backend.CUDA, source);
    TestProbe<DispatcherProtocol.VerdictReady> branch = kit.createTestProbe();
    TestProbe<DispatcherProtocol.Queued> queued = kit.createTestProbe();
    dispatcher.tell(new DispatcherProtocol.SubmitCandidate(candidate, problem, VerifySettings.defaults(),
        branch.getRef(), queued.getRef()));
    // The first persist waits for the connection pool and the journal to open.
    assertEquals(candidate.id(), queued.receiveMessage(Duration.ofSeconds(30)).candidateId());
    return new Submitted(candidate, branch);
  }
}
