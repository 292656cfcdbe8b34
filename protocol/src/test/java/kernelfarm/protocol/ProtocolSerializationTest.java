package kernelfarm.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProtocolSerializationTest {
  private final ActorTestKit testKit = ActorTestKit.create(ConfigFactory.load("cluster-test"));

  @ParameterizedTest
  @MethodSource("everyMessage") // one instance of every public record, with a real probe ref where it has one
  void roundTripsThroughItsBoundSerializer(Object message) {
    Serializer chosen = SerializationExtension.get(testKit.system()).findSerializerFor(message);
    Class<?> expected = message instanceof KryoMessage ? KryoSerializer.class : JacksonCborSerializer.class;
    assertEquals(expected, chosen.getClass(), message.getClass().getName());
    assertEquals(message, testKit.serializationTestKit().verifySerialization(message, false));
  }

  @Test
  void everyPublicMessageHasASample() {
    assertEquals(
        Set.of(),
        Samples.publicRecordsWithout(samples(), KryoMessage.class, DispatcherProtocol.Command.class),
        "records with no sample");
  }

  @Test
  void verdictParsesFromHarnessJsonKeepingEveryField() throws Exception {
    // Pekko's mapper ignores unknown keys by default; fail on them here so the records' own annotations are tested.
    ObjectMapper json = harnessJson().copy().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    // As the harness writes it: camelCase keys, plus keys this JVM does not know at every level.
    String line = """
        {"v": 1, "event": "verdict",
         "candidateId": "c-0123456789abcdef", "problemId": "level1/19_ReLU", "status": "CORRECT",
         "stage": "timing", "stageMillis": {"compile": 2310.5, "correctness": 88.25, "timing": 412.0},
         "correctness": {"trials": 5, "passed": 5, "maxAbsError": 0.0012, "maxRelError": 0.004,
           "atol": 0.01, "rtol": 0.01, "firstMismatch": null, "perTrial": [1, 2],
           "degenerate": {"degenerate": false, "reason": "", "resolvedWithExtraInputs": false, "zeroFraction": 0.1}},
         "timing": {"method": "cuda-events", "referenceSource": "eager", "speedup": 1.84, "l2Flushed": true,
           "reference": {"medianMs": 0.92, "meanMs": 0.95, "stdMs": 0.03, "minMs": 0.9, "maxMs": 1.2,
             "trials": 100, "syncMedianMs": 0.91},
           "candidate": {"medianMs": 0.5, "meanMs": 0.52, "stdMs": 0.02, "minMs": 0.49, "maxMs": 0.7,
             "trials": 100, "syncMedianMs": null}},
         "checks": [{"name": "inputs-unmodified", "outcome": "PASSED", "detail": "", "millis": 3},
                    {"name": "pytorch-only", "outcome": "FLAGGED", "detail": "calls torch.relu only"}],
         "customKernel": {"used": true, "kind": "cuda", "callsReference": false,
           "builds": [{"name": "relu_ext", "ok": true, "cached": false, "error": null, "seconds": 41.2}],
           "kernelsLaunched": ["relu_kernel"]},
         "environment": {"device": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", "torch": "2.5.1",
           "cuda": "12.4", "python": "3.11.9", "harnessVersion": "1", "backend": "cuda",
           "networkIsolated": true, "limits": {"cpuSeconds": "600", "addressSpace": "64G"}, "hostname": "x",
           "deviceIndex": 0, "visibleDevices": "GPU-11111111-2222-3333-4444-555555555555",
           "deviceUuid": "GPU-11111111-2222-3333-4444-555555555555",
           "isolation": {"mode": "bwrap", "uid": 64001, "noNewPrivileges": true, "capabilities": "0",
             "ownPidNamespace": true, "networkIsolated": true, "readOnlyRoot": true, "gaps": []}},
         "summary": "correct; 1.84x faster than eager (0.50 ms vs 0.92 ms)",
         "logs": ["compile.log", "correctness.log"]}
        """;

    Verdict parsed = json.readValue(line, Verdict.class);

    Verdict expected = new Verdict(
        new CandidateId("c-0123456789abcdef"), "level1/19_ReLU", Status.CORRECT, "timing",
        Map.of("compile", 2310.5, "correctness", 88.25, "timing", 412.0),
        new Correctness(5, 5, 0.0012, 0.004, 0.01, 0.01, null, new Degenerate(false, "", false)),
        new Timing("cuda-events",
            new Stats(0.92, 0.95, 0.03, 0.9, 1.2, 100, 0.91),
            new Stats(0.5, 0.52, 0.02, 0.49, 0.7, 100, null),
            1.84, "eager"),
        List.of(new Check("inputs-unmodified", CheckOutcome.PASSED, ""),
            new Check("pytorch-only", CheckOutcome.FLAGGED, "calls torch.relu only")),
        new CustomKernel(true, "cuda", List.of(new ExtensionBuild("relu_ext", true, false, null)),
            List.of("relu_kernel"), false),
        new Environment("NVIDIA H100 80GB HBM3", "550.54.15", "2.5.1", "12.4", "3.11.9", "1", "cuda", true,
            Map.of("cpuSeconds", "600", "addressSpace", "64G"), 0, "GPU-11111111-2222-3333-4444-555555555555",
            "GPU-11111111-2222-3333-4444-555555555555",
            new Isolation("bwrap", 64001, true, "0", true, true, true, List.of())),
        null,
        "correct; 1.84x faster than eager (0.50 ms vs 0.92 ms)",
        List.of("compile.log", "correctness.log"));
    assertEquals(expected, parsed);
  }

  @Test
  void verdictOfAnEarlyFailureParsesWithItsUnreachedPartsNull() throws Exception {
    ObjectMapper json = harnessJson();
    String line = """
        {"candidateId": "c-0123456789abcdef", "problemId": "level1/19_ReLU", "status": "COMPILE_ERROR",
         "stage": "compile", "summary": "relu.cu(12): error: identifier \\"blockIdx\\" is undefined"}
        """;

    Verdict parsed = json.readValue(line, Verdict.class);

    assertEquals(new Verdict(new CandidateId("c-0123456789abcdef"), "level1/19_ReLU", Status.COMPILE_ERROR,
        "compile", Map.of(), null, null, List.of(), null, null, null,
        "relu.cu(12): error: identifier \"blockIdx\" is undefined", List.of()), parsed);
  }

  private ObjectMapper harnessJson() {
    return JacksonObjectMapperProvider.get(testKit.system()).getOrCreate("jackson-json", Optional.empty());
  }

  Stream<Named<Object>> everyMessage() {
    return samples().stream().map(m -> Named.of(m.getClass().getSimpleName(), m));
  }

  private List<Object> samples() {
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "import torch\nclass Model: ...\n");
    Candidate candidate = Candidate.of(problem.id(), Backend.CUDA, "import torch\nclass ModelNew: ...\n");
    VerifySettings settings = VerifySettings.defaults();
    Verdict correct = correctVerdict(candidate);
    Verdict compileError = compileErrorVerdict(candidate);
    DeviceCapabilities h100 =
        new DeviceCapabilities("NVIDIA H100 80GB HBM3", Set.of(Backend.CUDA, Backend.TRITON, Backend.CPU),
            85_520_809_984L, "9.0");
    DeviceCapabilities cpu = new DeviceCapabilities("cpu", EnumSet.of(Backend.CPU), 0L, null);

    List<Object> samples = new ArrayList<>();
    // Kryo: the dispatch loop, with real refs, and with collections of the sizes that change their class.
    samples.add(new DispatcherProtocol.SubmitCandidate(candidate, problem, settings,
        testKit.<DispatcherProtocol.VerdictReady>createTestProbe().ref(),
        testKit.<DispatcherProtocol.Queued>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.Queued(candidate.id(), false));
    samples.add(new DispatcherProtocol.Withdraw(candidate.id(), settings,
        testKit.<DispatcherProtocol.VerdictReady>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.RequestWork("gpu-0", h100,
        testKit.<DispatcherProtocol.WorkOffer>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.RequestWork("cpu-0", cpu,
        testKit.<DispatcherProtocol.WorkOffer>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.WorkOffer("lease-1", candidate, problem, settings, Duration.ofSeconds(60)));
    samples.add(new DispatcherProtocol.RenewLease("gpu-0", List.of(),
        testKit.<DispatcherProtocol.RenewalRefused>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.RenewLease("gpu-0", List.of("lease-1"),
        testKit.<DispatcherProtocol.RenewalRefused>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.RenewLease("gpu-0", List.of("lease-1", "lease-2", "lease-3"),
        testKit.<DispatcherProtocol.RenewalRefused>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.RenewalRefused(List.of("lease-1")));
    samples.add(new DispatcherProtocol.RenewalRefused(List.of("lease-1", "lease-2")));
    samples.add(new DispatcherProtocol.ReleaseLease("gpu-0", List.of("lease-1")));
    samples.add(new DispatcherProtocol.ReleaseLease("gpu-0", List.of("lease-1", "lease-2")));
    samples.add(new DispatcherProtocol.ReportVerdict("lease-1", correct,
        testKit.<DispatcherProtocol.VerdictAck>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.ReportVerdict("lease-2", compileError,
        testKit.<DispatcherProtocol.VerdictAck>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.VerdictAck("lease-1"));
    samples.add(new DispatcherProtocol.VerdictReady(correct));
    samples.add(new DispatcherProtocol.VerdictReady(compileError));
    samples.add(new DispatcherProtocol.GetStatus(testKit.<DispatcherProtocol.FarmStatus>createTestProbe().ref()));
    samples.add(new DispatcherProtocol.FarmStatus(0, 0, 0, 0L, List.of()));
    DispatcherProtocol.DeviceReport evaluating = new DispatcherProtocol.DeviceReport("node-1/device-0", "cpu",
        DeviceState.evaluating, true, 2, 1, 4);
    samples.add(evaluating);
    samples.add(new DispatcherProtocol.DeviceReport("node-1/device-1", "NVIDIA H100 80GB HBM3",
        DeviceState.unhealthy, false, 0, 0, 8));
    samples.add(new DispatcherProtocol.FarmStatus(3, 1, 12, 40L, List.of(
        new DispatcherProtocol.WorkerStatus("node-1/device-0", "cpu", 1, false, 12.5, 30.0, 0.4, 7L, evaluating))));
    // A worker that has not reported yet.
    samples.add(new DispatcherProtocol.WorkerStatus("node-1/device-1", "NVIDIA H100 80GB HBM3", 0, true, 0.0,
        2.0, 1.0, 0L, null));
    samples.add(new VerdictLogsProtocol.ReadLog("/var/kfarm/runs/r-1/harness.log", 0,
        VerdictLogsProtocol.MAX_CHUNK_BYTES, testKit.<VerdictLogsProtocol.Reply>createTestProbe().ref()));
    samples.add(new VerdictLogsProtocol.LogChunk("/var/kfarm/runs/r-1/harness.log", 0, 12, 40, "compile: ok\n"));
    samples.add(new VerdictLogsProtocol.LogUnavailable("/var/kfarm/runs/r-1/harness.log",
        "removed with its run folder"));
    // Jackson CBOR: what gets persisted, whole and in parts.
    samples.add(candidate.id());
    samples.add(problem);
    samples.add(new Problem("user/my_gelu", 0, "my_gelu", "import torch\n"));
    samples.add(candidate);
    samples.add(settings);
    samples.add(h100);
    samples.add(cpu);
    samples.add(correct);
    samples.add(compileError);
    samples.add(correct.correctness());
    samples.add(correct.environment().isolation());
    samples.add(new KernelBenchVerdict("v0.1", true, true, 5, 5, 0.01, 0.01, 1.84, List.of()));
    samples.add(new KernelBenchVerdict("main", true, true, 5, 5, 1e-4, 1e-4, 3.2,
        List.of("input_mutation: trial 0: the candidate modified its input tensors in place")));
    samples.add(new Mismatch(2, "value", List.of(0L, 3L, 17L), "0.25", "0.31"));
    samples.add(new Mismatch(0, "shape", null, "torch.Size([16, 64])", "torch.Size([64, 16])"));
    samples.add(correct.correctness().degenerate());
    samples.add(correct.timing());
    samples.add(correct.timing().reference());
    samples.add(correct.checks().get(0));
    samples.add(correct.customKernel());
    samples.add(correct.customKernel().builds().get(0));
    samples.add(correct.environment());
    samples.add(correct.device());
    return samples;
  }

  private static Verdict correctVerdict(Candidate candidate) {
    Map<String, Double> stageMillis = new LinkedHashMap<>();
    stageMillis.put("static", 4.0);
    stageMillis.put("compile", 2310.5);
    stageMillis.put("correctness", 88.25);
    return new Verdict(candidate.id(), candidate.problemId(), Status.CORRECT, "timing", stageMillis,
        new Correctness(5, 5, 0.0012, 0.004, 0.01, 0.01, null, new Degenerate(false, "", false)),
        new Timing("cuda-events",
            new Stats(0.92, 0.95, 0.03, 0.9, 1.2, 100, 0.91),
            new Stats(0.5, 0.52, 0.02, 0.49, 0.7, 100, null),
            1.84, "eager"),
        List.of(new Check("inputs-unmodified", CheckOutcome.PASSED, ""),
            new Check("pytorch-only", CheckOutcome.FLAGGED, "calls torch.relu only"),
            new Check("determinism", CheckOutcome.SKIPPED, "")),
        new CustomKernel(true, "cuda",
            List.of(new ExtensionBuild("relu_ext", true, true, null),
                new ExtensionBuild("relu_fallback", false, false, "relu.cu(12): error: expected a ';'")),
            List.of("relu_kernel"), false),
        new Environment("NVIDIA H100 80GB HBM3", "550.54.15", "2.5.1", "12.4", "3.11.9", "1", "cuda", true,
            Map.of("cpuSeconds", "600"), 0, "0", null,
            new Isolation("unshare", 61000, true, "0", true, true, false, List.of("root filesystem writable"))),
        new DeviceRef("worker-1", 0, "NVIDIA H100 80GB HBM3"),
        "correct; 1.84x faster than eager (0.50 ms vs 0.92 ms)",
        List.of("compile.log", "correctness.log", "timing.log"));
  }

  private static Verdict compileErrorVerdict(Candidate candidate) {
    return new Verdict(candidate.id(), candidate.problemId(), Status.COMPILE_ERROR, "compile",
        Map.of("compile", 1200.0), null, null, List.of(), null, null, null,
        "relu.cu(12): error: expected a ';'", List.of("compile.log"));
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }
}
