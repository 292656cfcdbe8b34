package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.Node;
import kernelfarm.coordinator.campaign.CampaignExports;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.coordinator.campaign.CampaignSummary;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.service.CampaignService;
import kernelfarm.coordinator.service.ServiceException;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;

/**
 * Runs one campaign on a node from the command line through the node's CampaignService (as the HTTP API does):
 * submits it, shows a progress bar of verdicts from the read tables while the problems search, then prints the
 * results table and writes results.json and KernelBench's eval_results.json.
 */
final class CampaignRunner {
  private CampaignRunner() {}

  /** How long a submission may wait for the cluster to settle, e.g. while the shards move off a node that died. */
  private static final Duration SUBMIT_PATIENCE = Duration.ofMinutes(3);

  /**
   * Submits, and submits again while the cluster is UNAVAILABLE: a message to a shard that is being handed off
   * is dropped, and a coordinator started right after another one died meets exactly that. Submitting the same
   * id with the same spec again is acknowledged, so a retry never starts a second search.
   */
  private static void submit(CampaignService service, String campaignId, String specJson, PrintStream console)
      throws Exception {
    long deadline = System.nanoTime() + SUBMIT_PATIENCE.toNanos();
    while (true) {
      try {
        service.submit(Optional.of(campaignId), specJson).toCompletableFuture().get(60, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException e) {
        if (e.getCause() instanceof ServiceException s && s.kind() == ServiceException.Kind.UNAVAILABLE
            && System.nanoTime() < deadline) {
          console.println("kfarm campaign: " + s.getMessage() + "; submitting again");
          Thread.sleep(1000);
          continue;
        }
        // The same id with another spec: refusing is right, resuming would mix two searches.
        Throwable cause = e.getCause() instanceof ServiceException s ? s : e;
        throw new IllegalArgumentException("--id " + campaignId + ": " + cause.getMessage(), e);
      }
    }
  }

  static int run(Node node, String campaignId, CampaignSpec spec, List<Problem> problems, Path out,
      PrintStream console) throws Exception {
    CampaignService service = node.service().orElseThrow(() -> new IllegalStateException(
        "kfarm campaign needs a coordinator node; add coordinator to --roles"));
    submit(service, campaignId, node.json().writeValueAsString(spec), console);
    ProgressBar bar = new ProgressBar(System.err,
        problems.size() * spec.search().branches() * spec.search().rounds());
    Map<String, Map<String, Integer>> seen = new HashMap<>();
    Map<String, ProblemResult> byId = new HashMap<>();
    while (true) {
      // The read tables, as every client reads them; they trail the journal by about a second.
      for (ProblemResult r : service.results(campaignId).toCompletableFuture().get(60, TimeUnit.SECONDS)) {
        byId.put(r.problemId(), r);
        advance(bar, seen.computeIfAbsent(r.problemId(), k -> new HashMap<>()), r.statusCounts());
      }
      if (problems.stream().allMatch(p -> byId.containsKey(p.id()) && byId.get(p.id()).finished())) {
        break;
      }
      Thread.sleep(500);
    }
    bar.finish();
    List<ProblemResult> results = new ArrayList<>();
    for (Problem p : problems) {
      results.add(byId.get(p.id()));
    }
    print(console, results);
    for (LlmClient.Stats e : node.llmStats()) {
      console.printf("llm %s: %d answered, %d failed, %d retried, %d moved to another endpoint; peak %d of %d in "
          + "flight%n", e.endpoint(), e.answered(), e.failed(), e.retried(), e.failedOver(), e.peakInFlight(),
          e.maxConcurrency());
    }
    write(node.json(), out, campaignId, spec, results);
    console.println("results: " + out.resolve("results.json"));
    console.println("eval_results: " + out.resolve("eval_results.json"));
    if (!problems.isEmpty() && results.stream().allMatch(r -> r.roundsAnswered() == 0)) {
      // A campaign with no answer at all measured nothing: a script must not read it as a success.
      console.println("kfarm: no LLM endpoint answered a single round (" + results.get(0).finishReason()
          + "); see the WARN lines above for why");
      return 1;
    }
    return 0;
  }

  static void advance(ProgressBar bar, Map<String, Integer> seen, Map<String, Integer> now) {
    now.forEach((status, count) -> {
      int before = seen.getOrDefault(status, 0);
      for (int i = before; i < count; i++) {
        bar.advance(status.equals("NO_CODE") ? Status.INCORRECT : Status.valueOf(status));
      }
      seen.put(status, count);
    });
  }

  static void print(PrintStream out, List<ProblemResult> results) {
    out.printf("%-22s %-13s %8s %6s %8s %8s %9s  %s%n", "problem", "best", "speedup", "round", "seconds",
        "tokens", "device s", "verdicts");
    for (ProblemResult r : results) {
      String best = r.best() == null ? "-" : r.best().status().name();
      out.printf("%-22s %-13s %8s %6s %8.1f %8d %9.1f  %s%n", r.name(), best,
          r.bestSpeedup() == null ? "-" : String.format("%.2fx", r.bestSpeedup()),
          r.bestRound() < 0 ? "-" : "b" + r.bestBranch() + "/r" + r.bestRound(), r.secondsToBest(),
          r.tokensToBest(), r.gpuSeconds(), r.statusCounts());
    }
    CampaignSummary s = CampaignSummary.of(results);
    out.printf("correct: %d/%d (%.0f%%)  fast_1.0: %.0f%%  fast_1.5: %.0f%%  geomean speedup: %s%n", s.correct(),
        s.problems(), 100 * s.correctnessRate(), 100 * s.fastP().get("fast_1.0"), 100 * s.fastP().get("fast_1.5"),
        s.geomeanSpeedup() == null ? "-" : String.format("%.2fx", s.geomeanSpeedup()));
    CampaignSummary.RuleSet kb = s.kernelbench();
    out.printf("by KernelBench's rules: correct %d/%d (%.0f%%)  fast_1.0: %.0f%%  fast_1.5: %.0f%%  geomean: %s%n",
        kb.correct(), s.problems(), 100 * kb.correctnessRate(), 100 * kb.fastP().get("fast_1.0"),
        100 * kb.fastP().get("fast_1.5"), kb.geomeanSpeedup() == null ? "-" : String.format("%.2fx",
            kb.geomeanSpeedup()));
    out.printf("rounds: %d  device: %.1f s  tokens: %d in, %d out  cost: $%.4f%n", s.rounds(), s.gpuSeconds(),
        s.promptTokens(), s.completionTokens(), s.costUsd());
  }

  private static void write(ObjectMapper json, Path out, String campaignId, CampaignSpec spec,
      List<ProblemResult> results) throws Exception {
    Files.createDirectories(out);
    Files.writeString(out.resolve("results.json"), json.writerWithDefaultPrettyPrinter()
        .writeValueAsString(CampaignExports.results(json, campaignId, spec, results)));
    Files.writeString(out.resolve("eval_results.json"), json.writerWithDefaultPrettyPrinter()
        .writeValueAsString(CampaignExports.evalResults(json, CampaignExports.kernelBenchSamples(results))));
  }
}
