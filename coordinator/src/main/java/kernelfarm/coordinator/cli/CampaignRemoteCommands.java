package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kfarm campaign list|status|cancel}: a running coordinator's campaigns, through its HTTP API (the same
 * CampaignService the dashboard reads), so an operator needs no node of their own.
 *
 * <pre>
 * kfarm campaign list --url http://coordinator:8480
 * kfarm campaign status nightly
 * KFARM_API_TOKEN=... kfarm campaign cancel nightly
 * </pre>
 */
final class CampaignRemoteCommands {
  private CampaignRemoteCommands() {}

  /** {@code kfarm campaign list}: the newest campaigns. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List a coordinator's campaigns, newest first.")
  static final class ListCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Spec
    CommandSpec spec;

    @Option(names = "--limit", defaultValue = "50", description = "at most this many (default: ${DEFAULT-VALUE})")
    int limit;

    @Override
    public Integer call() {
      JsonNode page = api.get("/api/v1/campaigns?limit=" + limit);
      PrintWriter out = spec.commandLine().getOut();
      out.printf("%-36s %-16s %-10s %9s  %s%n", "campaign", "name", "state", "problems", "submitted");
      for (JsonNode c : page.path("items")) {
        out.printf("%-36s %-16s %-10s %9s  %s%n", c.path("id").asText(), c.path("name").asText(),
            c.path("state").asText(), c.path("problemsDone").asInt() + "/" + c.path("problems").asInt(),
            c.path("submittedAt").asText());
      }
      out.printf("%d of %d campaigns%n", page.path("items").size(), page.path("total").asLong());
      out.flush();
      return 0;
    }
  }

  /** {@code kfarm campaign status ID}: a campaign's figures by both rule sets, and its problems. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Show a campaign's state, figures (both rule sets) and problems.")
  static final class StatusCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ID", description = "the campaign's id")
    String id;

    @Override
    public Integer call() {
      JsonNode detail = api.get("/api/v1/campaigns/" + RemoteApi.segment(id));
      JsonNode problems = api.get("/api/v1/campaigns/" + RemoteApi.segment(id) + "/problems?limit=500");
      JsonNode c = detail.path("campaign");
      JsonNode s = detail.path("summary");
      JsonNode kb = s.path("kernelbench");
      PrintWriter out = spec.commandLine().getOut();
      out.printf("campaign %s (%s): %s, %d/%d problems done, %d rounds%n", c.path("id").asText(),
          c.path("name").asText(), c.path("state").asText(), c.path("problemsDone").asInt(),
          c.path("problems").asInt(), s.path("rounds").asInt());
      ruleSet(out, "strict:     ", s, s.path("problems").asInt());
      ruleSet(out, "kernelbench:", kb, s.path("problems").asInt());
      out.printf("device %.1f s  tokens %d in, %d out  cost $%.4f%n", s.path("gpuSeconds").asDouble(),
          s.path("promptTokens").asLong(), s.path("completionTokens").asLong(), s.path("costUsd").asDouble());
      out.printf("%-30s %-9s %7s %-13s %8s%n", "problem", "state", "rounds", "best", "speedup");
      for (JsonNode p : problems.path("items")) {
        out.printf("%-30s %-9s %7s %-13s %8s%n", p.path("problemId").asText(), p.path("state").asText(),
            p.path("roundsAnswered").asInt() + "/" + p.path("roundsPlanned").asInt(),
            p.path("bestStatus").isTextual() ? p.path("bestStatus").asText() : "-", speedup(p.path("bestSpeedup")));
      }
      out.flush();
      return 0;
    }
  }

  /** {@code kfarm campaign cancel ID}: stops every branch and queued candidate; verdicts stay. */
  @Command(name = "cancel", mixinStandardHelpOptions = true,
      description = "Cancel a running campaign (needs the API token): its branches stop, verified results stay.")
  static final class CancelCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ID", description = "the campaign's id")
    String id;

    @Override
    public Integer call() {
      api.post("/api/v1/campaigns/" + RemoteApi.segment(id) + "/cancel");
      PrintWriter out = spec.commandLine().getOut();
      out.printf("campaign %s: cancelling; its problems stop their branches, and what was verified stays%n", id);
      out.flush();
      return 0;
    }
  }

  /** One rule set's figures: a campaign summary, or its {@code kernelbench} part (the same fields). */
  private static void ruleSet(PrintWriter out, String label, JsonNode figures, int problems) {
    out.printf("%s correct %d/%d (%s)  fast_1.0 %s  geomean %s%n", label, figures.path("correct").asInt(), problems,
        pct(figures.path("correctnessRate")), pct(figures.path("fastP").path("fast_1.0")),
        speedup(figures.path("geomeanSpeedup")));
  }

  private static String pct(JsonNode v) {
    return v.isNumber() ? String.format("%.0f%%", 100 * v.asDouble()) : "-";
  }

  private static String speedup(JsonNode v) {
    return v.isNumber() ? String.format("%.2fx", v.asDouble()) : "-";
  }
}
