package kernelfarm.coordinator.campaign;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;

/**
 * A campaign's results as files: the farm's own {@code results.json} and KernelBench's {@code eval_results.json}.
 * One builder for both callers, so {@code kfarm campaign} on a local node and {@code kfarm campaign report} over
 * the HTTP API write the same documents.
 */
public final class CampaignExports {
  private static final Pattern LEADING_NUMBER = Pattern.compile("^(\\d+)_");

  private CampaignExports() {}

  /** One problem's verdict for the KernelBench export, with what the export needs of the problem. */
  public record Sample(String problemName, int level, Verdict verdict) {}

  /** results.json: the campaign's id and spec, its figures by both rule sets, and every problem's result. */
  public static ObjectNode results(ObjectMapper json, String campaignId, CampaignSpec spec,
      List<ProblemResult> results) {
    ObjectNode root = json.createObjectNode();
    root.put("campaign", campaignId);
    root.set("spec", json.valueToTree(spec));
    root.set("summary", json.valueToTree(CampaignSummary.of(results)));
    root.set("problems", json.valueToTree(results));
    return root;
  }

  /**
   * The candidate KernelBench's rules rank first for each problem that has one (else the strict best), as
   * KernelBench samples; results.json keeps the strict best.
   */
  public static List<Sample> kernelBenchSamples(List<ProblemResult> results) {
    List<Sample> samples = new ArrayList<>();
    for (ProblemResult r : results) {
      Verdict chosen = r.kernelbenchBestVerdict() != null ? r.kernelbenchBestVerdict() : r.best();
      if (chosen != null) {
        samples.add(new Sample(r.name(), r.level(), chosen));
      }
    }
    return samples;
  }

  /**
   * KernelBench's eval_results.json: per problem id (the number, as a string), a list of samples with
   * {@code compiled}, {@code correctness}, {@code runtime} (candidate mean, ms), {@code runtime_stats} and
   * {@code metadata}; plus the reference's runtime and the speedup, which KernelBench's analysis recomputes from
   * its baseline files. {@code compiled}, {@code correctness} and the runtime are KernelBench's own answer (the
   * verdict's {@code kernelbench}); the strict status and the checks behind it go in {@code metadata}.
   */
  public static ObjectNode evalResults(ObjectMapper json, List<Sample> results) {
    Map<String, ArrayNode> byProblem = new TreeMap<>();
    for (Sample e : results) {
      Verdict v = e.verdict();
      Matcher m = LEADING_NUMBER.matcher(e.problemName());
      String key = m.find() ? m.group(1) : e.problemName();
      ArrayNode samples = byProblem.computeIfAbsent(key, k -> json.createArrayNode());
      ObjectNode sample = samples.addObject();
      sample.put("sample_id", samples.size() - 1);
      sample.put("level", e.level());
      sample.put("problem_name", e.problemName());
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
    return root;
  }
}
