package kernelfarm.coordinator.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.TestNodes;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.BenchWorker;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks' fake worker on a node that has not found its Dispatcher singleton yet, as on every fresh node for
 * about a second: the singleton proxy keeps only its latest messages meanwhile, so later traffic (in the benchmark,
 * the campaign's first 1,000 candidates) pushes out what the worker sent first. Seen as kfarm bench dashboard
 * waiting at 0/5000 for ever on its 3rd or 5th node: 1,000 candidates queued, no worker known to the Dispatcher.
 */
@Tag("slow") // a node starts and stops
class BenchWorkerStartTest {
  @Test
  void aBenchWorkerWhoseFirstMessageTheSingletonProxyDroppedGetsWorkOnceTheNodeIsUp() throws Exception {
    Path store = Files.createTempDirectory("kfarm-bench-worker-start");
    var overrides = TestNodes.overrides(Map.of("kernelfarm.store.url", "jdbc:h2:file:" + store.resolve("kfarm"),
        "pekko.cluster.roles", List.of("coordinator"), "kernelfarm.coordinator.http.enabled", "off"), 1);
    // Not joined yet: the proxy cannot find the singleton, so it buffers everything sent to the Dispatcher.
    try (Node node = Node.start(Node.config(overrides), new Node.Deps(Clock.systemUTC(), HttpClient.newHttpClient(),
        List.of()), false)) {
      ActorRef<DispatcherProtocol.Command> proxy = node.dispatcher();
      TestProbe<DispatcherProtocol.Command> sent = TestProbe.create(node.system());
      // Between worker and proxy: passes each message on, then says so, so the filler below comes after.
      ActorRef<DispatcherProtocol.Command> tap = node.system().systemActorOf(
          Behaviors.receive(DispatcherProtocol.Command.class).onAnyMessage(m -> {
            proxy.tell(m);
            sent.getRef().tell(m);
            return Behaviors.same();
          }).build(), "tap", Props.empty());
      AtomicLong verdicts = new AtomicLong();
      node.system().systemActorOf(BenchWorker.create(tap, Duration.ofMillis(10), 1, "fake",
          verdicts::incrementAndGet), "fake-worker", Props.empty());
      // The worker's first word to the Dispatcher waits in the proxy's buffer; what follows pushes it out.
      sent.receiveMessage();

      int buffer = node.system().settings().config().getInt("pekko.cluster.singleton-proxy.buffer-size");
      TestProbe<DispatcherProtocol.FarmStatus> statuses = TestProbe.create(node.system());
      for (int i = 0; i < buffer; i++) {
        proxy.tell(new DispatcherProtocol.GetStatus(statuses.getRef()));
      }
      Problem problem = new Problem("bench/p0", 1, "p0", "# problem");
      TestProbe<DispatcherProtocol.VerdictReady> verdict = TestProbe.create(node.system());
      Candidate candidate = Candidate.of(problem.id(), Backend.CPU, "# the one candidate");
      proxy.tell(new DispatcherProtocol.SubmitCandidate(candidate, problem, VerifySettings.defaults(),
          verdict.getRef(), node.system().ignoreRef()));

      Cluster cluster = Cluster.get(node.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      // Within seconds of the join, not at the worker's next periodic request, or the benchmark's numbers suffer.
      assertEquals(candidate.id(), verdict.expectMessageClass(DispatcherProtocol.VerdictReady.class,
          Duration.ofSeconds(15)).verdict().candidateId());
      assertEquals(1, verdicts.get());
    }
  }
}
