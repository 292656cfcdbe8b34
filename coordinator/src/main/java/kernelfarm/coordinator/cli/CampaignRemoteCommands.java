package kernelfarm.coordinator.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import kernelfarm.coordinator.campaign.CampaignSpec;
import kernelfarm.protocol.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kfarm campaign submit|list|status|watch|report|cancel}: a running coordinator's campaigns, through its
 * HTTP API (the same CampaignService the dashboard reads), so an operator needs no node of their own.
 *
 * <pre>
 * KFARM_API_TOKEN=... kfarm campaign submit --url http://coordinator:8480 --spec nightly.yaml --id nightly --watch
 * KFARM_API_TOKEN=... kfarm campaign submit --problems /data/kernelbench/level1.jsonl --only 19_ReLU --rounds 3
 * kfarm campaign list --url http://coordinator:8480
 * kfarm campaign status nightly
 * kfarm campaign watch nightly
 * kfarm campaign report nightly --out reports/nightly
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
      PrintWriter out = spec.commandLine().getOut();
      printStatus(out, api, id);
      out.flush();
      return 0;
    }
  }

  /** A campaign's state, figures by both rule sets and problems, as {@code status} and {@code report} show them. */
  static void printStatus(PrintWriter out, RemoteApi api, String id) {
    JsonNode detail = api.get("/api/v1/campaigns/" + RemoteApi.segment(id));
    JsonNode problems = api.get("/api/v1/campaigns/" + RemoteApi.segment(id) + "/problems?limit=500");
    JsonNode c = detail.path("campaign");
    JsonNode s = detail.path("summary");
    JsonNode kb = s.path("kernelbench");
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

  /**
   * {@code kfarm campaign submit}: a campaign for a coordinator, from a spec file (the API's CampaignSpec as JSON
   * or YAML) or from the same flags as {@code kfarm campaign}. The coordinator validates it and answers every bad
   * field with its fix; with {@code --watch} the progress follows.
   */
  @Command(name = "submit", mixinStandardHelpOptions = true,
      description = "Submit a campaign to a coordinator (needs the API token): a spec file (--spec, JSON or YAML, "
          + "as POST /api/v1/campaigns takes it) or the same flags as kfarm campaign, with --problems naming a "
          + "path on the coordinator.")
  static final class SubmitCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Mixin
    SearchOptions search;

    @Mixin
    VerifyOptions verify;

    @Spec
    CommandSpec spec;

    @Option(names = "--spec", description = "a campaign spec file, JSON or YAML (instead of the flags)")
    Path specFile;

    @Option(names = "--problems", description = "where the problems are on the coordinator: a folder of problem "
        + "files, a KernelBench checkout or a .jsonl file")
    String problems;

    @Option(names = "--backend", defaultValue = "cuda",
        description = "cuda, triton or cpu, as the workers run it (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--endpoints", split = ",", defaultValue = "default",
        description = "LLM endpoints configured on the coordinator, by name (default: ${DEFAULT-VALUE})")
    List<String> endpoints;

    @Option(names = "--id", description = "the campaign's id (default: one the coordinator makes up)")
    String id;

    @Option(names = "--watch", description = "then follow its progress until it ends, as kfarm campaign watch")
    boolean watch;

    @Option(names = "--every", defaultValue = "PT1S", description = "with --watch: how often to refresh "
        + "(default: ${DEFAULT-VALUE})")
    Duration every;

    @Override
    public Integer call() throws Exception {
      if (specFile != null && problems != null) {
        throw new IllegalArgumentException("--spec and --problems: give one; a spec file names its problems "
            + "itself (\"problems\": {\"source\": ...})");
      }
      if (specFile == null && problems == null) {
        throw new IllegalArgumentException("--problems: required without --spec; give the problems' path on the "
            + "coordinator (a folder of problem files, a KernelBench checkout or a .jsonl file), or a spec file "
            + "with --spec FILE");
      }
      String body = specFile != null ? specText(specFile) : flagsSpec();
      JsonNode submitted = api.post("/api/v1/campaigns" + (id == null ? "" : "?id=" + RemoteApi.segment(id)), body);
      String campaignId = submitted.path("campaignId").asText();
      PrintWriter out = spec.commandLine().getOut();
      out.printf("campaign %s submitted: %d problems%n", campaignId, submitted.path("problems").size());
      out.printf("watch it: kfarm campaign watch %s --url %s%n", campaignId, api.url());
      out.flush();
      return watch ? watch(api, campaignId, every, out) : 0;
    }

    /** The spec the flags describe, as the API's JSON. */
    private String flagsSpec() throws Exception {
      Backend chosen;
      try {
        chosen = Backend.parse(backend);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--backend: " + e.getMessage(), e);
      }
      CampaignSpec campaign = new CampaignSpec(search.name,
          new CampaignSpec.ProblemSelection(problems, search.only, List.of()), chosen, search.search(),
          search.sampling(), endpoints, verify.settings());
      return SPEC_JSON.writeValueAsString(campaign);
    }

    /**
     * A spec file's text as the API's JSON: JSON as it is (the coordinator points at any syntax error), YAML
     * converted here, since the API takes JSON.
     */
    private static String specText(Path file) {
      String text;
      try {
        text = Files.readString(file);
      } catch (java.nio.file.NoSuchFileException e) {
        throw new IllegalArgumentException("--spec: no file " + file + "; give a campaign spec, JSON or YAML "
            + "(CampaignSpec in GET /api/v1/openapi.json)", e);
      } catch (IOException e) {
        throw new IllegalArgumentException("--spec: cannot read " + file + " (" + e.getMessage() + "); give a "
            + "readable campaign spec file", e);
      }
      if (text.stripLeading().startsWith("{")) {
        return text;
      }
      try {
        JsonNode yaml = new YAMLMapper().readTree(text);
        if (yaml == null || !yaml.isObject()) {
          throw new IllegalArgumentException("--spec: " + file + " holds no mapping; write the spec's fields "
              + "(name, problems, backend, search, sampling, endpoints, verify) as a JSON object or YAML mapping");
        }
        return SPEC_JSON.writeValueAsString(yaml);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column "
            + e.getLocation().getColumnNr();
        throw new IllegalArgumentException("--spec: " + file + " is neither a JSON object nor valid YAML" + where
            + " (" + e.getOriginalMessage().lines().findFirst().orElse("") + "); correct that line", e);
      }
    }
  }

  /** The API's JSON for a spec: durations as ISO-8601 text ("PT15M"), as the coordinator reads them. */
  private static final ObjectMapper SPEC_JSON = JsonMapper.builder().addModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS).build();

  /** {@code kfarm campaign watch ID}: a progress line, refreshed until the campaign ends. */
  @Command(name = "watch", mixinStandardHelpOptions = true,
      description = "Follow a campaign's progress on a coordinator until it ends, then show its figures. Exits 0 "
          + "when it finished, 1 when it was cancelled.")
  static final class WatchCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ID", description = "the campaign's id")
    String id;

    @Option(names = "--every", defaultValue = "PT1S", description = "how often to refresh (default: "
        + "${DEFAULT-VALUE})")
    Duration every;

    @Override
    public Integer call() throws Exception {
      return watch(api, id, every, spec.commandLine().getOut());
    }
  }

  /** The read tables trail the journal by about a second: a campaign submitted just now may not be there yet. */
  private static final Duration NEWLY_SUBMITTED = Duration.ofSeconds(10);

  /**
   * Refreshes a progress bar over the campaign's planned rounds (verdicts by status as they come) from the API
   * until the campaign is FINISHED or CANCELLED; then its status. 0 when it finished, 1 when cancelled.
   */
  static int watch(RemoteApi api, String id, Duration every, PrintWriter out) throws InterruptedException {
    if (every.isNegative() || every.isZero()) {
      throw new IllegalArgumentException("--every: must be positive, got " + every + "; write e.g. PT1S");
    }
    String path = "/api/v1/campaigns/" + RemoteApi.segment(id);
    long giveUp = System.nanoTime() + NEWLY_SUBMITTED.toNanos();
    ProgressBar bar = null;
    Map<String, Map<String, Integer>> seen = new HashMap<>();
    while (true) {
      JsonNode detail;
      try {
        detail = api.get(path);
      } catch (RemoteApi.ApiError e) {
        if (e.status() != 404 || System.nanoTime() > giveUp) {
          throw e;
        }
        Thread.sleep(every.toMillis());
        continue;
      }
      JsonNode problems = api.get(path + "/problems?limit=500");
      if (bar == null) {
        int planned = 0;
        for (JsonNode p : problems.path("items")) {
          planned += p.path("roundsPlanned").asInt();
        }
        bar = new ProgressBar(out, planned);
      }
      for (JsonNode p : problems.path("items")) {
        Map<String, Integer> counts = new HashMap<>();
        p.path("statusCounts").fields().forEachRemaining(e -> counts.put(e.getKey(), e.getValue().asInt()));
        CampaignRunner.advance(bar, seen.computeIfAbsent(p.path("problemId").asText(), k -> new HashMap<>()),
            counts);
      }
      String state = detail.path("campaign").path("state").asText();
      // Campaign and problem rows are projected apart: the campaign may read FINISHED a moment before its
      // problems' last verdicts, so the end waits for every problem row to be final too.
      boolean problemsFinal = problems.path("items").size() == detail.path("campaign").path("problems").asInt();
      for (JsonNode p : problems.path("items")) {
        problemsFinal &= !p.path("state").asText().equals("RUNNING");
      }
      if ((state.equals("FINISHED") || state.equals("CANCELLED")) && problemsFinal) {
        bar.finish();
        printStatus(out, api, id);
        out.flush();
        return state.equals("FINISHED") ? 0 : 1;
      }
      Thread.sleep(every.toMillis());
    }
  }

  /**
   * {@code kfarm campaign report ID}: the campaign's results.json, KernelBench's eval_results.json and a
   * speedup-over-time plot (SVG), written into a folder, and its figures shown.
   */
  @Command(name = "report", mixinStandardHelpOptions = true,
      description = "Write a campaign's results.json, KernelBench's eval_results.json and its speedup-over-time "
          + "plot (speedup.svg) from a coordinator, and show its figures.")
  static final class ReportCommand implements Callable<Integer> {
    @Mixin
    RemoteApi api;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ID", description = "the campaign's id")
    String id;

    @Option(names = "--out", description = "the folder to write (default: kfarm-results/<campaign id>)")
    Path out;

    @Override
    public Integer call() {
      String path = "/api/v1/campaigns/" + RemoteApi.segment(id);
      JsonNode results = api.get(path + "/results");
      JsonNode evalResults = api.get(path + "/exports/eval_results.json");
      Path folder = out != null ? out : Path.of("kfarm-results", id);
      Path plot = folder.resolve("speedup.svg");
      try {
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("results.json"), PRETTY.writeValueAsString(results));
        Files.writeString(folder.resolve("eval_results.json"), PRETTY.writeValueAsString(evalResults));
        Files.writeString(plot, SpeedupPlot.svg(id, results.path("problems")));
      } catch (IOException e) {
        throw new IllegalArgumentException("--out: cannot write " + folder + " (" + e.getMessage() + "); choose a "
            + "folder you can write", e);
      }
      PrintWriter console = spec.commandLine().getOut();
      printStatus(console, api, id);
      console.println("results: " + folder.resolve("results.json"));
      console.println("eval_results: " + folder.resolve("eval_results.json"));
      console.println("plot: " + plot);
      console.flush();
      return 0;
    }
  }

  private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

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
