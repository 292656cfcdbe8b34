package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.campaign.CampaignExports;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Verdict;

/** How verdicts are shown to people and written for KernelBench's tooling. */
final class Reports {
  private Reports() {}

  /** One verdict for a person: status, the LLM-ready summary, the checks that did not simply pass. */
  static void print(PrintStream out, Verdict v, String label) {
    out.printf("%-13s %s  (%s, candidate %s%s)%n", v.status(), label, v.problemId(), v.candidateId().value(),
        v.environment() != null ? ", " + v.environment().device() : "");
    v.summary().lines().forEach(line -> out.println("  " + line));
    long passed = v.checks().stream().filter(c -> c.outcome() == CheckOutcome.PASSED).count();
    out.printf("  checks: %d passed, %d failed, %d flagged, %d skipped%n", passed,
        count(v, CheckOutcome.FAILED), count(v, CheckOutcome.FLAGGED), count(v, CheckOutcome.SKIPPED));
    for (Check c : v.checks()) {
      if (c.outcome() == CheckOutcome.FAILED || c.outcome() == CheckOutcome.FLAGGED) {
        out.printf("    %-8s %-20s %s%n", c.outcome(), c.name(), c.detail());
      }
    }
    KernelBenchVerdict kb = v.kernelbench();
    if (kb != null) {
      out.printf("  KernelBench %s: %s%s%n", kb.rules(), !kb.compiled() ? "not compiled" : kb.correct()
          ? "correct" + (kb.speedup() != null ? String.format(", %.2fx", kb.speedup()) : "") : "incorrect",
          kb.differences().isEmpty() ? "" : "; differs: " + String.join("; ", kb.differences()));
    }
    if (!v.logs().isEmpty()) {
      out.println("  logs: " + String.join(" ", v.logs()));
    }
  }

  private static long count(Verdict v, CheckOutcome outcome) {
    return v.checks().stream().filter(c -> c.outcome() == outcome).count();
  }

  /** Appends one verdict (with the candidate's file name) to a JSON-lines file. */
  static void appendJsonLine(ObjectMapper json, Path file, Verdict v, String candidateFile) {
    try {
      ObjectNode node = json.valueToTree(v);
      node.put("candidateFile", candidateFile);
      Files.writeString(file, json.writeValueAsString(node) + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  /** KernelBench's eval_results.json, as {@link CampaignExports#evalResults} builds it. */
  static void writeEvalResults(ObjectMapper json, Path file, List<Map.Entry<Problem, Verdict>> results) {
    List<CampaignExports.Sample> samples = results.stream()
        .map(e -> new CampaignExports.Sample(e.getKey().name(), e.getKey().level(), e.getValue())).toList();
    try {
      Files.writeString(file, json.writerWithDefaultPrettyPrinter()
          .writeValueAsString(CampaignExports.evalResults(json, samples)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
