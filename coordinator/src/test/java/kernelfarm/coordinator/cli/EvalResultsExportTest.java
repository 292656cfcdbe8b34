package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KernelBench's eval_results.json holds KernelBench's own answer: its correctness, its runtime (the candidate's mean)
 * and its speedup (mean over mean), whatever the strict status; the strict status rides along in metadata.
 */
class EvalResultsExportTest {
  private static final Problem RELU = new Problem("level1/19_ReLU", 1, "19_ReLU.py", "class Model: pass");
  private static final Problem GELU = new Problem("level1/26_GELU_", 1, "26_GELU_.py", "class Model: pass");

  @Test
  void samplesCarryKernelBenchsAnswerAndTheStrictStatusBeside(@TempDir Path dir) throws Exception {
    // Rejected by our checks (TF32 switched on), correct by KernelBench's: exported as KernelBench would score it.
    Verdict tf32 = verdict("tf32", Status.REJECTED, 2.0, 1.0, 0.40, new KernelBenchVerdict("v0.1", true, true, 5,
        5, 0.01, 0.01, 2.5, List.of("precision: TF32 on")), new Check("precision", CheckOutcome.FAILED, "TF32 on"));
    Verdict wrong = verdict("wrong", Status.INCORRECT, null, null, null, new KernelBenchVerdict("v0.1", true, false,
        2, 5, 0.01, 0.01, null, List.of()), new Check("precision", CheckOutcome.SKIPPED, "not reached"));
    Path file = dir.resolve("eval_results.json");
    ObjectMapper json = new ObjectMapper();
    Reports.writeEvalResults(json, file, List.of(Map.entry(RELU, tf32), Map.entry(GELU, wrong)));

    JsonNode root = json.readTree(Files.readString(file));
    JsonNode relu = root.get("19").get(0);
    assertTrue(relu.get("compiled").asBoolean());
    assertTrue(relu.get("correctness").asBoolean(), "KernelBench's correctness, not the strict status");
    assertEquals(0.40, relu.get("runtime").asDouble(), "the candidate's mean, KernelBench's runtime");
    assertEquals(1.0, relu.get("ref_runtime").asDouble());
    assertEquals(2.5, relu.get("speedup").asDouble(), "mean over mean, not the strict median ratio 2.0");
    assertEquals("REJECTED", relu.get("metadata").get("status").asText());
    assertEquals("FAILED: TF32 on", relu.get("metadata").get("check_precision").asText());
    assertEquals("precision: TF32 on", relu.get("metadata").get("strict_differs").get(0).asText());

    JsonNode gelu = root.get("26").get(0);
    assertFalse(gelu.get("correctness").asBoolean());
    assertEquals(-1.0, gelu.get("runtime").asDouble(), "KernelBench's runtime for an incorrect sample");
    assertFalse(gelu.has("speedup"));
    assertEquals("INCORRECT", gelu.get("metadata").get("status").asText());
  }

  private static Verdict verdict(String id, Status status, Double strictSpeedup, Double refMean, Double candMean,
      KernelBenchVerdict kb, Check check) {
    Timing timing = strictSpeedup == null ? null
        : new Timing("cuda_events", stats(refMean), stats(candMean), strictSpeedup, "eager");
    return new Verdict(new CandidateId("c-" + id), "level1/x", status, "timing", Map.of(), null, timing,
        List.of(check), null, null, null, "summary of " + id, List.of(), kb);
  }

  private static Stats stats(double mean) {
    return new Stats(mean * 0.9, mean, 0.01, mean * 0.8, mean * 1.2, 100, null);
  }
}
