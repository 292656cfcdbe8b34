package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;

/** How verdicts are shown to people and written for KernelBench's tooling. */
final class Reports {
  private static final Pattern LEADING_NUMBER = Pattern.compile("^(\\d+)_");

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

  /**
   * KernelBench's eval_results.json: per problem id (the number, as a string), a list of samples with
   * {@code compiled}, {@code correctness}, {@code runtime} (candidate mean, ms), {@code runtime_stats} and
   * {@code metadata}; plus the reference's runtime and the speedup, which KernelBench's analysis recomputes from
   * its baseline files. {@code compiled}, {@code correctness} and the runtime are KernelBench's own answer (the
   * verdict's {@code kernelbench}); the strict status and the checks behind it go in {@code metadata}.
   */
  static void writeEvalResults(ObjectMapper json, Path file, List<Map.Entry<Problem, Verdict>> results) {
    Map<String, ArrayNode> byProblem = new TreeMap<>();
    for (Map.Entry<Problem, Verdict> e : results) {
      Problem p = e.getKey();
      Verdict v = e.getValue();
      Matcher m = LEADING_NUMBER.matcher(p.name());
      String key = m.find() ? m.group(1) : p.name();
      ArrayNode samples = byProblem.computeIfAbsent(key, k -> json.createArrayNode());
      ObjectNode sample = samples.addObject();
      sample.put("sample_id", samples.size() - 1);
      sample.put("level", p.level());
      sample.put("problem_name", p.name());
      KernelBenchVerdict kb = v.kernelbench();
      boolean kbCorrect = kb != null ? kb.correct() : v.correct();
      sample.put("compiled", kb != null ? kb.compiled() : v.status() != Status.COMPILE_ERROR);
      sample.put("correctness", kbCorrect);
      ObjectNode metadata = sample.putObject("metadata");
      metadata.put("status", v.status().name());
      if (kb != null) {
        metadata.put("kernelbench_rules", kb.rules());
        kb.differences().forEach(d -> metadata.withArray("strict_differs").add(d));
      }
      metadata.put("candidate_id", v.candidateId().value());
      metadata.put("hardware", v.environment() != null ? v.environment().device() : "");
      if (v.correctness() != null) {
        metadata.put("correctness_trials", "(" + v.correctness().passed() + " / " + v.correctness().trials() + ")");
      }
      v.checks().stream().filter(c -> c.outcome() == CheckOutcome.FAILED || c.outcome() == CheckOutcome.FLAGGED)
          .forEach(c -> metadata.put("check_" + c.name(), c.outcome() + ": " + c.detail()));
      if (v.status() != Status.CORRECT) {
        metadata.put("summary", v.summary());
      }
      if (v.timing() != null && kbCorrect) {
        sample.put("runtime", v.timing().candidate().meanMs());
        ObjectNode stats = sample.putObject("runtime_stats");
        stats.put("mean", v.timing().candidate().meanMs());
        stats.put("median", v.timing().candidate().medianMs());
        stats.put("std", v.timing().candidate().stdMs());
        stats.put("min", v.timing().candidate().minMs());
        stats.put("max", v.timing().candidate().maxMs());
        stats.put("num_trials", v.timing().candidate().trials());
        stats.put("hardware", v.environment() != null ? v.environment().device() : "");
        sample.put("ref_runtime", v.timing().reference().meanMs());
        // KernelBench's speedup: mean over mean; the strict (median) one stays in the farm's own results.
        Double speedup = kb != null ? kb.speedup() : v.timing().speedup();
        if (speedup != null) {
          sample.put("speedup", speedup);
        }
      } else {
        sample.put("runtime", -1.0);
      }
    }
    ObjectNode root = json.createObjectNode();
    byProblem.forEach(root::set);
    try {
      Files.writeString(file, json.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }
}
