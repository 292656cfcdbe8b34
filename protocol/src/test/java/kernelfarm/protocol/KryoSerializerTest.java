package kernelfarm.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.NotSerializableException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KryoSerializerTest {
  private final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load("cluster-test"));
  private final KryoSerializer kryo = (KryoSerializer) SerializationExtension.get(testKit.system())
      .findSerializerFor(new DispatcherProtocol.VerdictAck("any"));

  @Test
  void registrationIdsNeverChange() {
    // The wire format: append new classes here and in KryoSerializer.IDS; never edit a line.
    Map<Integer, String> pinned = new TreeMap<>(Map.ofEntries(
        Map.entry(20, "kernelfarm.protocol.DispatcherProtocol$SubmitCandidate"),
        Map.entry(21, "kernelfarm.protocol.DispatcherProtocol$Queued"),
        Map.entry(22, "kernelfarm.protocol.DispatcherProtocol$RequestWork"),
        Map.entry(23, "kernelfarm.protocol.DispatcherProtocol$WorkOffer"),
        Map.entry(24, "kernelfarm.protocol.DispatcherProtocol$RenewLease"),
        Map.entry(25, "kernelfarm.protocol.DispatcherProtocol$ReportVerdict"),
        Map.entry(26, "kernelfarm.protocol.DispatcherProtocol$VerdictAck"),
        Map.entry(27, "kernelfarm.protocol.DispatcherProtocol$VerdictReady"),
        Map.entry(28, "kernelfarm.protocol.DispatcherProtocol$Withdraw"),
        Map.entry(29, "kernelfarm.protocol.DispatcherProtocol$GetStatus"),
        Map.entry(30, "kernelfarm.protocol.DispatcherProtocol$FarmStatus"),
        Map.entry(31, "kernelfarm.protocol.DispatcherProtocol$WorkerStatus"),
        Map.entry(32, "kernelfarm.protocol.DispatcherProtocol$ReleaseLease"),
        Map.entry(33, "kernelfarm.protocol.DispatcherProtocol$RenewalRefused"),
        Map.entry(34, "kernelfarm.protocol.DispatcherProtocol$DeviceReport"),
        Map.entry(35, "kernelfarm.protocol.VerdictLogsProtocol$ReadLog"),
        Map.entry(36, "kernelfarm.protocol.VerdictLogsProtocol$LogChunk"),
        Map.entry(37, "kernelfarm.protocol.VerdictLogsProtocol$LogUnavailable"),
        Map.entry(40, "kernelfarm.protocol.CandidateId"),
        Map.entry(41, "kernelfarm.protocol.Candidate"),
        Map.entry(42, "kernelfarm.protocol.Problem"),
        Map.entry(43, "kernelfarm.protocol.Backend"),
        Map.entry(44, "kernelfarm.protocol.VerifySettings"),
        Map.entry(45, "kernelfarm.protocol.DeviceCapabilities"),
        Map.entry(46, "kernelfarm.protocol.Verdict"),
        Map.entry(47, "kernelfarm.protocol.Status"),
        Map.entry(48, "kernelfarm.protocol.Correctness"),
        Map.entry(49, "kernelfarm.protocol.Mismatch"),
        Map.entry(50, "kernelfarm.protocol.Degenerate"),
        Map.entry(51, "kernelfarm.protocol.Timing"),
        Map.entry(52, "kernelfarm.protocol.Stats"),
        Map.entry(53, "kernelfarm.protocol.Check"),
        Map.entry(54, "kernelfarm.protocol.CheckOutcome"),
        Map.entry(55, "kernelfarm.protocol.CustomKernel"),
        Map.entry(56, "kernelfarm.protocol.ExtensionBuild"),
        Map.entry(57, "kernelfarm.protocol.Environment"),
        Map.entry(58, "kernelfarm.protocol.DeviceRef"),
        Map.entry(59, "kernelfarm.protocol.Isolation"),
        Map.entry(60, "kernelfarm.protocol.KernelBenchVerdict"),
        Map.entry(61, "kernelfarm.protocol.DeviceState"),
        Map.entry(80, "org.apache.pekko.actor.typed.ActorRef"),
        Map.entry(81, "java.time.Duration"),
        Map.entry(82, "java.util.ImmutableCollections$ListN"),
        Map.entry(83, "java.util.ImmutableCollections$List12"),
        Map.entry(84, "java.util.ImmutableCollections$ListN"),
        Map.entry(85, "java.util.ImmutableCollections$SubList"),
        Map.entry(86, "java.util.ImmutableCollections$MapN"),
        Map.entry(87, "java.util.ImmutableCollections$Map1"),
        Map.entry(88, "java.util.ImmutableCollections$MapN"),
        Map.entry(89, "java.util.ImmutableCollections$SetN"),
        Map.entry(90, "java.util.ImmutableCollections$Set12"),
        Map.entry(91, "java.util.ImmutableCollections$SetN"),
        Map.entry(92, "java.util.ArrayList"),
        Map.entry(93, "java.util.HashMap"),
        Map.entry(94, "java.util.LinkedHashMap"),
        Map.entry(95, "java.util.HashSet")));
    Map<Integer, String> actual = new TreeMap<>();
    KryoSerializer.IDS.forEach((id, type) -> actual.put(id, type.getName()));
    assertEquals(pinned, actual);
  }

  @Test
  void everyKryoMessageOfTheProtocolIsRegistered() {
    for (Class<?> type : DispatcherProtocol.class.getDeclaredClasses()) {
      if (type.isRecord() && KryoMessage.class.isAssignableFrom(type)) {
        assertTrue(KryoSerializer.IDS.containsValue(type), type.getName() + " is not in KryoSerializer.IDS");
      }
    }
  }

  @Test
  void aDeserializedRefStillReachesItsActor() throws Exception {
    TestProbe<DispatcherProtocol.VerdictAck> worker = testKit.createTestProbe();
    Verdict verdict = new Verdict(new CandidateId("c-0123456789abcdef"), "level1/19_ReLU", Status.TIMEOUT,
        "timing", Map.of("timing", 180_000.0), null, null, null, null, null, null, "timed out", null);
    DispatcherProtocol.ReportVerdict report = new DispatcherProtocol.ReportVerdict("lease-1", verdict, worker.ref());

    DispatcherProtocol.ReportVerdict back = (DispatcherProtocol.ReportVerdict)
        kryo.fromBinary(kryo.toBinary(report), kryo.manifest(report));

    back.replyTo().tell(new DispatcherProtocol.VerdictAck(back.leaseId()));
    worker.expectMessage(new DispatcherProtocol.VerdictAck("lease-1"));
  }

  @Test
  void refusesWhatIsNotARegisteredMessage() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> kryo.toBinary(new CandidateId("c-0123456789abcdef")));
    assertEquals("kernelfarm.protocol.CandidateId is not a KryoMessage registered in KryoSerializer.IDS; "
        + "add it there", e.getMessage());
    assertThrows(NotSerializableException.class, () -> kryo.fromBinary(new byte[] {1}, "40"));
    assertThrows(NotSerializableException.class, () -> kryo.fromBinary(new byte[] {1}, "999"));
    assertThrows(NotSerializableException.class, () -> kryo.fromBinary(new byte[] {1}, "VerdictAck"));
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }
}
